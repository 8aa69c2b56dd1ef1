"""The simulated meter against the real endpoint (Home Assistant's HTTP stack on loopback) and a faulty one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import json
import random
import time

from aiohttp import web
from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nilm.meter import MeterInfo, MeterReading
from custom_components.nilm.webhook import async_register_meter_webhook
from nilm_tools.simulator import (
    Backoff,
    DeliveryError,
    Household,
    MeterAuthError,
    MeterClient,
    MeterSample,
)
from nilm_tools.simulator.client import MAX_BODY_BYTES

WEBHOOK_ID = "ab" * 32
KEY = "simulator-key"
FAST = Backoff(base_s=0.001, cap_s=0.01)

type ClientFactory = Callable[..., Awaitable[TestClient]]
type Delivered = list[tuple[MeterInfo, list[MeterReading]]]


@pytest.fixture
async def endpoint(
    hass: HomeAssistant, hass_client_no_auth: Callable[[], Awaitable[TestClient]]
) -> tuple[str, Delivered]:
    """The meter webhook served by Home Assistant; returns its absolute URL and what it delivered."""
    entry = MockConfigEntry(domain="nilm", data={"webhook_id": WEBHOOK_ID, "api_key": KEY})
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "webhook", {})
    delivered: Delivered = []
    async_register_meter_webhook(
        hass, entry, lambda info, readings: delivered.append((info, readings))
    )
    client = await hass_client_no_auth()
    return str(client.make_url(f"/api/webhook/{WEBHOOK_ID}")), delivered


async def test_an_hour_of_household_arrives_complete_and_in_order(
    endpoint: tuple[str, Delivered],
) -> None:
    url, delivered = endpoint
    samples = Household(seed=2).samples(time.time() - 3600, 3600)
    async with MeterClient(url, KEY, device_id="sim-1", boot_id="b00t") as meter:
        report = await meter.push(samples)
    assert (report.batches, report.accepted, report.dropped, report.failures) == (6, 3600, 0, 0)
    readings = [reading for _, batch in delivered for reading in batch]
    assert [r.t for r in readings] == [s.t for s in samples]
    assert readings[100] == MeterReading(**samples[100].to_json())
    assert {info for info, _ in delivered} == {MeterInfo("sim-1", "sim-1.0.0")}


async def test_wrong_key_stops_the_simulator(endpoint: tuple[str, Delivered]) -> None:
    url, delivered = endpoint
    async with MeterClient(url, "wrong") as meter:
        with pytest.raises(MeterAuthError):
            await meter.push([MeterSample(t=time.time(), p=100.0)])
    assert delivered == []


async def test_unknown_webhook_is_not_taken_for_delivery(
    hass: HomeAssistant, hass_client_no_auth: Callable[[], Awaitable[TestClient]]
) -> None:
    # Home Assistant answers 200 without a body: the meter must keep its samples.
    assert await async_setup_component(hass, "webhook", {})
    client = await hass_client_no_auth()
    url = str(client.make_url("/api/webhook/unknown"))
    async with MeterClient(url, KEY, backoff=FAST) as meter:
        with pytest.raises(DeliveryError, match="1 samples undelivered after 3 attempts"):
            await meter.push([MeterSample(t=time.time(), p=100.0)], max_attempts=3)
        assert meter.pending == 1
        assert meter.report.failures == 3


def scripted(answers: list[web.Response], bodies: list[bytes]) -> web.Application:
    """An endpoint that records bodies and answers from the script, then acknowledges everything."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        bodies.append(body)
        if answers:
            return answers.pop(0)
        batch = json.loads(body)
        ack = {"ok": True, "accepted": len(batch["samples"]), "duplicates": 0, "dropped": 0}
        return web.json_response(ack | {"seq": batch["seq"]})

    app = web.Application()
    app.router.add_post("/hook", handle)
    return app


async def test_retries_resend_the_same_batch_and_honour_retry_after(
    aiohttp_client: ClientFactory, socket_enabled: None
) -> None:
    bodies: list[bytes] = []
    answers = [
        web.Response(status=500),
        web.json_response(
            {"ok": False, "error": "rate_limited"}, status=429, headers={"Retry-After": "0"}
        ),
        web.Response(status=200, text=""),
    ]
    client = await aiohttp_client(scripted(answers, bodies))
    async with MeterClient(str(client.make_url("/hook")), KEY, backoff=FAST) as meter:
        report = await meter.push([MeterSample(t=1.0, p=5.0), MeterSample(t=2.0, p=6.0)])
    assert len(bodies) == 4
    assert len(set(bodies)) == 1, "a retry must resend the identical batch"
    assert json.loads(bodies[0])["seq"] == 0
    assert (report.batches, report.accepted, report.failures) == (1, 2, 3)


async def test_refused_batch_is_dropped_and_the_queue_moves_on(
    aiohttp_client: ClientFactory, socket_enabled: None
) -> None:
    bodies: list[bytes] = []
    answers = [web.json_response({"ok": False, "error": "invalid_type"}, status=400)]
    client = await aiohttp_client(scripted(answers, bodies))
    samples = [MeterSample(t=float(n), p=1.0) for n in range(700)]
    async with MeterClient(str(client.make_url("/hook")), KEY, backoff=FAST) as meter:
        report = await meter.push(samples)
    assert [json.loads(body)["seq"] for body in bodies] == [0, 1]
    assert (report.rejected, report.accepted) == (600, 100)


async def test_samples_wait_while_the_endpoint_is_down(
    aiohttp_client: ClientFactory, socket_enabled: None
) -> None:
    bodies: list[bytes] = []
    answers = [web.Response(status=503)]
    client = await aiohttp_client(scripted(answers, bodies))
    async with MeterClient(
        str(client.make_url("/hook")), KEY, backoff=Backoff(base_s=60.0)
    ) as meter:
        meter.add([MeterSample(t=1.0, p=1.0)])
        assert not await meter.send_pending()
        # Still backing off: no request, samples keep accumulating.
        meter.add([MeterSample(t=2.0, p=1.0)])
        assert not await meter.send_pending()
        assert (len(bodies), meter.pending) == (1, 2)
        assert 40.0 < meter.next_attempt_in <= 72.0


async def test_full_buffer_drops_the_oldest(
    aiohttp_client: ClientFactory, socket_enabled: None
) -> None:
    bodies: list[bytes] = []
    client = await aiohttp_client(scripted([], bodies))
    async with MeterClient(str(client.make_url("/hook")), KEY, buffer_limit=3) as meter:
        meter.add(MeterSample(t=float(n), p=1.0) for n in range(5))
        report = await meter.push([])
    assert report.buffer_overflow == 2
    assert [s["t"] for s in json.loads(bodies[0])["samples"]] == [2.0, 3.0, 4.0]


async def test_batches_respect_the_body_and_count_limits(
    aiohttp_client: ClientFactory, socket_enabled: None
) -> None:
    bodies: list[bytes] = []
    client = await aiohttp_client(scripted([], bodies))
    # Wide values: 600 of these would not fit in 64 KiB.
    wide = MeterSample(
        t=1_799_999_999.123, p=22999.9, v=259.9, i=99.999, e=99999999.0, f=64.9, pf=0.99
    )
    async with MeterClient(str(client.make_url("/hook")), KEY, device_id="d" * 64) as meter:
        await meter.push([wide.shifted(n) for n in range(1500)])
    sizes = [len(json.loads(body)["samples"]) for body in bodies]
    assert sum(sizes) == 1500
    assert all(len(body) <= MAX_BODY_BYTES for body in bodies)
    assert max(sizes) <= 600
    assert [json.loads(body)["seq"] for body in bodies] == list(range(len(bodies)))


def test_backoff_doubles_to_its_cap_with_bounded_jitter() -> None:
    backoff = Backoff(base_s=1.0, cap_s=8.0, jitter=0.25)
    rng = random.Random(1)
    delays = [backoff.delay(attempt, rng) for attempt in range(1, 7)]
    for attempt, delay in enumerate(delays, start=1):
        nominal = min(8.0, 2.0 ** (attempt - 1))
        assert 0.75 * nominal <= delay <= 1.25 * nominal
