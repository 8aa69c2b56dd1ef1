"""Command line of the meter simulator (scripts/simulate)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
from pathlib import Path
import sys
import time

from .client import DeliveryError, MeterAuthError, MeterClient
from .ha_sensor import SensorAuthError, SensorClient
from .household import Household, HouseholdTrace
from .playback import play
from .replay import CsvFormatError, replay_samples
from .sample import MeterSample

# After the last chunk, how many back-off rounds the meter gets to deliver what it still holds.
FINAL_ATTEMPTS = 6


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The documented options; exactly one target (webhook, HA sensor or a NILM-CSV file)."""
    parser = argparse.ArgumentParser(
        prog="scripts/simulate",
        description="Drive Home Assistant without hardware: a synthetic household or a NILM-CSV replay, "
        "pushed to the meter webhook like the firmware, or to a sensor through the REST API.",
    )
    source = parser.add_argument_group("source (default: synthetic household)")
    source.add_argument("--csv", type=Path, help="replay the mains of this NILM-CSV file")
    source.add_argument("--seed", type=int, default=0, help="household seed (default 0)")
    source.add_argument("--activity", type=float, default=1.0, help="household use-rate factor")
    timing = parser.add_argument_group("timing")
    timing.add_argument(
        "--start", default=None, help='epoch seconds or "now" (default: see README)'
    )
    timing.add_argument(
        "--duration", type=float, default=None, help="seconds of samples (household: 3600)"
    )
    timing.add_argument(
        "--speed", type=float, default=1.0, help="1 real time, 10 ten times faster, 0 at once"
    )
    timing.add_argument("--batch-seconds", type=float, default=5.0, help="meter posting period (5)")
    target = parser.add_argument_group("target (one of)")
    target.add_argument("--url", help="meter webhook URL, http://HOST:8123/api/webhook/<id>")
    target.add_argument("--key", help="the entry's API key (X-NILM-Key)")
    target.add_argument("--device-id", default="nilm-sim-000001", help="meter device id")
    target.add_argument("--ha-url", help="Home Assistant URL for the sensor source")
    target.add_argument("--token", help="long-lived access token")
    target.add_argument("--entity", help="sensor entity id to update, e.g. sensor.house_power")
    target.add_argument(
        "--write-csv", type=Path, help="write NILM-CSV (household: with ground truth)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every delivery problem")
    args = parser.parse_args(argv)
    targets = [args.url is not None, args.ha_url is not None, args.write_csv is not None]
    if sum(targets) != 1:
        parser.error("give exactly one of --url, --ha-url, --write-csv")
    if args.url and not args.key:
        parser.error("--url needs --key")
    if args.ha_url and not (args.token and args.entity):
        parser.error("--ha-url needs --token and --entity")
    if args.speed < 0 or (args.duration is not None and args.duration <= 0):
        parser.error("--speed must be >= 0 and --duration > 0")
    return args


def resolve_start(start: str | None, duration_s: float, speed: float, now: float) -> float:
    """Stamp samples so none is in the future when sent: live at speed <= 1, ending now when faster."""
    if start is not None:
        return now if start == "now" else float(start)
    if speed == 0:
        return now - duration_s
    return now - duration_s * max(0.0, 1.0 - 1.0 / speed)


def write_nilm_csv(path: Path, trace: HouseholdTrace | None, samples: list[MeterSample]) -> None:
    """NILM-CSV of the samples; a household trace adds mains_q and one ground-truth column per appliance."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        handle.write("# synthetic household from nilm_tools.simulator\n" if trace else "")
        truth = trace.truth if trace else {}
        writer.writerow(
            ["timestamp", "mains_p", "mains_q", "mains_i", "mains_v", "mains_pf", *truth]
        )
        for index, sample in enumerate(samples):
            q = f"{trace.q[index]:.1f}" if trace else ""
            row = [f"{sample.t:.3f}", sample.p, q, sample.i, sample.v, sample.pf]
            row += [f"{power[index]:.1f}" for power in truth.values()]
            writer.writerow(["" if cell is None else cell for cell in row])


async def push_to_webhook(
    args: argparse.Namespace, samples: list[MeterSample]
) -> dict[str, object]:
    """Play the samples into the webhook like the firmware, then let it deliver what it still holds."""
    async with MeterClient(args.url, args.key, device_id=args.device_id, seed=args.seed) as meter:

        async def deliver(chunk: list[MeterSample]) -> None:
            meter.add(chunk)
            await meter.send_pending()

        await play(samples, deliver, speed=args.speed, batch_seconds=args.batch_seconds)
        await meter.push([], max_attempts=FINAL_ATTEMPTS)
        report = meter.report
        return {"target": "webhook", "samples": len(samples), "boot_id": meter.boot_id} | {
            name: getattr(report, name) for name in report.__slots__
        }


async def push_to_sensor(args: argparse.Namespace, samples: list[MeterSample]) -> dict[str, object]:
    """Play the samples into the sensor's state, one update per sample."""
    async with SensorClient(args.ha_url, args.token, args.entity) as sensor:

        async def deliver(chunk: list[MeterSample]) -> None:
            for sample in chunk:
                await sensor.publish(sample)

        await play(samples, deliver, speed=args.speed, batch_seconds=0)
        return {"target": args.entity, "samples": len(samples), "updates": sensor.updates}


def main(argv: list[str] | None = None) -> int:
    """Run the simulator; print a one-line JSON summary."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    now = time.time()
    trace = None
    try:
        if args.csv is not None:
            samples = replay_samples(args.csv)
            span = samples[-1].t - samples[0].t + 1.0 if samples else 0.0
            duration = min(args.duration or span, span)
            start = resolve_start(args.start, duration, args.speed, now)
            samples = [
                s.shifted(start - samples[0].t) for s in samples if s.t < samples[0].t + duration
            ]
        else:
            duration = args.duration or 3600.0
            start = resolve_start(args.start, duration, args.speed, now)
            trace = Household(args.seed, activity=args.activity).simulate(start, duration)
            samples = list(trace.samples())
        if args.write_csv is not None:
            write_nilm_csv(args.write_csv, trace, samples)
            summary: dict[str, object] = {"target": str(args.write_csv), "samples": len(samples)}
        elif args.url is not None:
            summary = asyncio.run(push_to_webhook(args, samples))
        else:
            summary = asyncio.run(push_to_sensor(args, samples))
    except (CsvFormatError, OSError, ValueError) as err:
        print(f"simulate: {err}", file=sys.stderr)
        return 2
    except (MeterAuthError, SensorAuthError, DeliveryError) as err:
        print(f"simulate: {err}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
