"""Throughput of the meter webhook through the real HTTP stack: batches and samples per second.

Default: an in-process Home Assistant core (the test harness of pytest-homeassistant-custom-component) serving
HTTP on a loopback port, `--meters` meter entries, each pushed by a simulated meter as fast as it is
acknowledged. The per-meter rate limit is lifted so the stack itself is measured. With --url/--key an existing
endpoint is measured instead (then the rate limit applies).

    .venv/bin/python -m nilm_tools.simulator.bench [--meters 4] [--batches 200] [--samples 600]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
import json
import sys
import tempfile
import time
from typing import Any

from aiohttp.test_utils import TestServer

from .client import MeterClient, PushReport
from .household import Household

type Endpoint = tuple[str, str]


async def drive(
    endpoints: list[Endpoint], batches: int, samples_per_batch: int
) -> dict[str, float]:
    """One meter per endpoint, all at once; return the measured rates."""
    total = batches * samples_per_batch
    samples = Household(seed=1).samples(time.time() - total - 60, total)

    async def one(index: int, url: str, key: str) -> PushReport:
        async with MeterClient(
            url, key, device_id=f"bench-{index}", batch_limit=samples_per_batch, buffer_limit=total
        ) as meter:
            meter.add(samples)
            return await meter.push([], max_attempts=3)

    began = time.perf_counter()
    reports = await asyncio.gather(*(one(n, url, key) for n, (url, key) in enumerate(endpoints)))
    elapsed = time.perf_counter() - began
    sent = sum(report.batches for report in reports)
    accepted = sum(report.accepted for report in reports)
    return {
        "meters": len(endpoints),
        "batches": sent,
        "samples": accepted,
        "seconds": round(elapsed, 3),
        "batches_per_s": round(sent / elapsed, 1),
        "samples_per_s": round(accepted / elapsed),
        "retries": sum(report.failures for report in reports),
    }


async def in_process(
    meters: int, run: Callable[[list[Endpoint]], Coroutine[Any, Any, dict[str, float]]]
) -> dict[str, float]:
    """Serve the webhook from an in-process Home Assistant on a free loopback port while `run` drives it."""
    # Test harness imports stay here: only the self-contained mode needs them.
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
        MockConfigEntry,
        async_test_home_assistant,
    )

    from custom_components.nilm.ingest import RateLimit
    from custom_components.nilm.webhook import async_register_meter_webhook

    # A scratch config dir: Home Assistant's http setup writes its stores there.
    with tempfile.TemporaryDirectory(prefix="nilm-bench-") as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            assert await async_setup_component(hass, "webhook", {})
            received = [0]
            unlimited = RateLimit(per_second=1e9, burst=1e9)
            keys = {}
            for index in range(meters):
                webhook_id, key = f"bench{index:059d}", f"key-{index}"
                entry = MockConfigEntry(
                    domain="nilm", data={"webhook_id": webhook_id, "api_key": key}
                )
                entry.add_to_hass(hass)
                async_register_meter_webhook(
                    hass,
                    entry,
                    lambda info, readings: received.__setitem__(0, received[0] + len(readings)),
                    rate_limit=unlimited,
                )
                keys[webhook_id] = key
            # Home Assistant's own aiohttp application (all its middlewares), served on a loopback port.
            server = TestServer(hass.http.app, host="127.0.0.1")
            await server.start_server()
            endpoints = [
                (str(server.make_url(f"/api/webhook/{hook}")), key) for hook, key in keys.items()
            ]
            try:
                # The meters run in their own thread and event loop, as separate devices would.
                result = await asyncio.to_thread(asyncio.run, run(endpoints))
            finally:
                await server.close()
                await hass.async_stop()
    return result | {"delivered_to_integration": received[0]}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its numbers as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m nilm_tools.simulator.bench", description=__doc__
    )
    parser.add_argument("--meters", type=int, default=4, help="concurrent meters (in-process mode)")
    parser.add_argument("--batches", type=int, default=200, help="batches per meter")
    parser.add_argument("--samples", type=int, default=600, help="samples per batch (<= 600)")
    parser.add_argument("--url", help="measure this existing meter webhook instead")
    parser.add_argument("--key", help="its API key")
    args = parser.parse_args(argv)
    if not 1 <= args.samples <= 600 or args.batches < 1 or args.meters < 1:
        parser.error("--samples 1..600, --batches and --meters >= 1")
    if (args.url is None) != (args.key is None):
        parser.error("--url and --key go together")

    async def run(endpoints: list[Endpoint]) -> dict[str, float]:
        return await drive(endpoints, args.batches, args.samples)

    if args.url is not None:
        result = asyncio.run(run([(args.url, args.key)]))
    else:
        result = asyncio.run(in_process(args.meters, run))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
