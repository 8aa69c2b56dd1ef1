"""The meter push endpoint through Home Assistant's real webhook component and HTTP stack.

Covers the contract (docs/CONTRACTS.md "Meter push payload") and the hostile-input suite: every rejected request
gets its status and JSON error, stores nothing, and leaves no warning or traceback in Home Assistant's log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
import json
import logging
import time
from types import SimpleNamespace
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nilm import webhook
from custom_components.nilm.ingest import RateLimit
from custom_components.nilm.meter import MeterInfo, MeterReading
from custom_components.nilm.webhook import async_register_meter_webhook

WEBHOOK_ID = "0f" * 32
KEY = "k3y-" + "x" * 39
URL = f"/api/webhook/{WEBHOOK_ID}"
HEADERS = {"X-NILM-Key": KEY, "Content-Type": "application/json"}

type Delivered = list[tuple[MeterInfo, list[MeterReading]]]


def batch(
    seq: int = 0, samples: list[dict[str, Any]] | None = None, **fields: Any
) -> dict[str, Any]:
    """A contract payload with `samples` (default: three 1 Hz samples ending now)."""
    now = time.time()
    if samples is None:
        samples = [
            {
                "t": now - 2 + n,
                "v": 230.0,
                "i": 1.2,
                "p": 250.0 + n,
                "e": 1000.0,
                "f": 50.0,
                "pf": 0.9,
            }
            for n in range(3)
        ]
    return (
        {"device_id": "nilm-meter-a1b2c3", "boot_id": "5f3a9c1e", "seq": seq, "fw": "1.0.0"}
        | fields
        | {"samples": samples}
    )


class Meter:
    """A test meter: posts to the webhook and records what the integration received."""

    def __init__(self, client: TestClient, delivered: Delivered) -> None:
        self.client = client
        self.delivered = delivered

    async def post(
        self,
        payload: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        data = raw if raw is not None else json.dumps(payload).encode()
        return await self.client.post(
            URL, data=data, headers=HEADERS if headers is None else headers
        )

    @property
    def readings(self) -> list[MeterReading]:
        return [reading for _, readings in self.delivered for reading in readings]


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain="nilm",
        title="Meter",
        data={"source": "meter", "webhook_id": WEBHOOK_ID, "api_key": KEY},
        options={},
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
async def meter(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_client_no_auth: Callable[[], Coroutine[Any, Any, TestClient]],
) -> AsyncIterator[Meter]:
    assert await async_setup_component(hass, "webhook", {})
    delivered: Delivered = []
    unregister = async_register_meter_webhook(
        hass, entry, lambda info, readings: delivered.append((info, readings))
    )
    yield Meter(await hass_client_no_auth(), delivered)
    unregister()


@pytest.fixture
def still_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate limiter's clock stands still: no token comes back during a flood, however slow the machine.

    (On a busy machine 70 posts took over 2 s, the bucket refilled 10 tokens and a flood test failed.)
    """
    monkeypatch.setattr(webhook, "time", SimpleNamespace(monotonic=lambda: 1000.0, time=time.time))


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing at warning level or above, and no traceback, reached the log.

    Asyncio's debug-mode note that a step took over 0.1 s is left out: it times the machine, not the
    integration (a fresh-clone CI run on a busy machine saw the request handler's step for the 60 KB
    deep-array body take 0.117 s; decoding that body takes 3-6 ms here).
    """
    loud = [
        r
        for r in caplog.records
        if (r.levelno >= logging.WARNING or r.exc_info) and not _slow_step_note(r)
    ]
    assert not loud, [r.getMessage() for r in loud]


def _slow_step_note(record: logging.LogRecord) -> bool:
    return record.name == "asyncio" and record.msg == "Executing %s took %.3f seconds"


async def assert_error(response: ClientResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status == status
    body = await response.json()
    assert body["ok"] is False
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


async def test_accepted_batch_is_acknowledged_and_delivered(
    meter: Meter, caplog: pytest.LogCaptureFixture
) -> None:
    payload = batch(seq=42)
    response = await meter.post(payload)
    assert response.status == 200
    assert await response.json() == {
        "ok": True,
        "accepted": 3,
        "duplicates": 0,
        "dropped": 0,
        "seq": 42,
    }
    [(info, readings)] = meter.delivered
    assert info == MeterInfo(device_id="nilm-meter-a1b2c3", fw="1.0.0")
    assert [r.p for r in readings] == [250.0, 251.0, 252.0]
    first = payload["samples"][0]
    assert readings[0] == MeterReading(
        t=first["t"], p=250.0, v=230.0, i=1.2, e=1000.0, f=50.0, pf=0.9
    )
    assert_quiet(caplog)


async def test_only_t_and_p_are_required(meter: Meter) -> None:
    now = time.time()
    response = await meter.post(
        {"device_id": "d", "boot_id": "b", "seq": 0, "samples": [{"t": now, "p": 5, "v": None}]}
    )
    assert (await response.json())["accepted"] == 1
    assert meter.delivered == [(MeterInfo("d", None), [MeterReading(t=now, p=5.0)])]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-NILM-Key": ""},
        {"X-NILM-Key": KEY[:-1] + "y"},
        {"X-NILM-Key": KEY + "x"},
        {"X-NILM-Key": "schlüssel"},
        {"Authorization": f"Bearer {KEY}"},
    ],
    ids=["none", "empty", "wrong", "longer", "non-ascii", "bearer"],
)
async def test_missing_or_wrong_key_is_401_and_stores_nothing(
    meter: Meter, caplog: pytest.LogCaptureFixture, headers: dict[str, str]
) -> None:
    await assert_error(await meter.post(batch(), headers=headers), 401, "unauthorized")
    assert meter.delivered == []
    assert_quiet(caplog)


async def test_rotated_key_applies_at_once(
    hass: HomeAssistant, meter: Meter, entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(entry, data=entry.data | {"api_key": "new-key"})
    await assert_error(await meter.post(batch()), 401, "unauthorized")
    response = await meter.post(batch(), headers={"X-NILM-Key": "new-key"})
    assert (await response.json())["ok"] is True


async def test_an_entry_without_a_key_accepts_nothing(
    hass: HomeAssistant, meter: Meter, entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(entry, data=entry.data | {"api_key": ""})
    await assert_error(await meter.post(batch(), headers={"X-NILM-Key": ""}), 401, "unauthorized")
    await assert_error(await meter.post(batch(), headers={}), 401, "unauthorized")
    assert meter.delivered == []


async def test_huge_body_is_413(meter: Meter, caplog: pytest.LogCaptureFixture) -> None:
    payload = batch(samples=[{"t": time.time(), "p": 1.0, "pad": "x" * 70000}])
    await assert_error(await meter.post(payload), 413, "body_too_large")
    assert meter.delivered == []
    assert_quiet(caplog)


async def test_huge_chunked_body_is_413(meter: Meter, caplog: pytest.LogCaptureFixture) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the endpoint must stop reading at the limit by itself.
        for _ in range(100):
            yield b" " * 4096

    response = await meter.client.post(URL, data=chunks(), headers=HEADERS)
    await assert_error(response, 413, "body_too_large")
    assert meter.delivered == []
    assert_quiet(caplog)


async def test_too_many_samples_is_413(meter: Meter, caplog: pytest.LogCaptureFixture) -> None:
    now = time.time()
    samples = [{"t": now - 700 + n, "p": 1} for n in range(601)]
    body = await assert_error(await meter.post(batch(samples=samples)), 413, "too_many_samples")
    assert "600" in body["message"]
    assert meter.delivered == []
    full = await meter.post(batch(samples=samples[:600]))
    assert (await full.json())["accepted"] == 600
    assert_quiet(caplog)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "invalid_json"),
        (b"{", "invalid_json"),
        (b"{'device_id': 'x'}", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b"1" * 5000, "invalid_json"),
        (b"[" * 30000 + b"]" * 30000, "invalid_type"),
        (b'{"a":' * 10000 + b"1" + b"}" * 10000, "invalid_field"),
        (b"[]", "invalid_type"),
        (b"null", "invalid_type"),
        (b'"samples"', "invalid_type"),
    ],
    ids=[
        "empty",
        "truncated",
        "single-quotes",
        "not-utf8",
        "huge-integer",
        "deep-array",
        "deep-object",
        "array",
        "null",
        "string",
    ],
)
async def test_malformed_json_is_400(
    meter: Meter, caplog: pytest.LogCaptureFixture, raw: bytes, code: str
) -> None:
    await assert_error(await meter.post(raw=raw), 400, code)
    assert meter.delivered == []
    assert_quiet(caplog)


async def test_deep_json_in_an_unknown_field_is_ignored(meter: Meter) -> None:
    # Unknown fields are ignored (forward compatibility); the walk never descends into them.
    raw = json.dumps(batch()).encode()[:-1] + b', "extra": ' + b"[" * 20000 + b"]" * 20000 + b"}"
    response = await meter.post(raw=raw)
    assert (await response.json())["accepted"] == 3


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"device_id": None}, "device_id", "invalid_field"),
        ({"device_id": 7}, "device_id", "invalid_field"),
        ({"device_id": ""}, "device_id", "invalid_field"),
        ({"device_id": "a" * 65}, "device_id", "invalid_field"),
        ({"device_id": "meter/../x"}, "device_id", "invalid_field"),
        ({"boot_id": "a b"}, "boot_id", "invalid_field"),
        ({"seq": -1}, "seq", "invalid_field"),
        ({"seq": 1.5}, "seq", "invalid_field"),
        ({"seq": "1"}, "seq", "invalid_field"),
        ({"seq": True}, "seq", "invalid_field"),
        ({"fw": "x" * 33}, "fw", "invalid_field"),
        ({"fw": 1}, "fw", "invalid_field"),
        ({"samples": None}, "samples", "invalid_field"),
        ({"samples": {"t": 1}}, "samples", "invalid_field"),
        ({"samples": [[1, 2]]}, "samples[3]", "invalid_type"),
        ({"samples": [{"p": 1}]}, "samples[3].t", "missing_field"),
        ({"samples": [{"t": 1}]}, "samples[3].p", "missing_field"),
        ({"samples": [{"t": "now", "p": 1}]}, "samples[3].t", "invalid_type"),
        ({"samples": [{"t": 1, "p": "250"}]}, "samples[3].p", "invalid_type"),
        ({"samples": [{"t": 1, "p": 1, "v": True}]}, "samples[3].v", "invalid_type"),
        ({"samples": [{"t": 1, "p": 1, "pf": [0.9]}]}, "samples[3].pf", "invalid_type"),
        ({"samples": [{"t": 1, "p": {"w": 250}}]}, "samples[3].p", "invalid_type"),
        ({"samples": [250]}, "samples[3]", "invalid_type"),
        ({"samples": [None]}, "samples[3]", "invalid_type"),
    ],
)
async def test_wrong_schema_is_400_naming_the_field(
    meter: Meter,
    caplog: pytest.LogCaptureFixture,
    change: dict[str, Any],
    field: str,
    code: str,
) -> None:
    payload = batch()
    if isinstance(extra := change.get("samples"), list):
        # Appended after three good samples: one malformed sample rejects the whole request.
        change = {"samples": payload["samples"] + extra}
    body = await assert_error(await meter.post(payload | change), 400, code)
    assert body["message"].startswith(f"{field}:")
    assert meter.delivered == []
    assert_quiet(caplog)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (250, "number"),
        (2.5, "number"),
        (None, "null"),
        ([1], "array"),
        ("x", "string"),
        (True, "boolean"),
    ],
)
async def test_the_error_names_the_json_type_it_got(meter: Meter, value: Any, name: str) -> None:
    body = await assert_error(await meter.post(batch(samples=[value])), 400, "invalid_type")
    assert body["message"] == f"samples[0]: expected an object, got {name}"
    sample = {"t": time.time(), "p": {"w": 250}}
    body = await assert_error(await meter.post(batch(samples=[sample])), 400, "invalid_type")
    assert body["message"] == "samples[0].p: expected a number, got object"


@pytest.mark.parametrize(
    "bad",
    [
        b'{"t": %(t)s, "p": NaN}',
        b'{"t": %(t)s, "p": Infinity}',
        b'{"t": %(t)s, "p": -Infinity}',
        b'{"t": %(t)s, "p": 1e999}',
        b'{"t": %(t)s, "p": 100, "v": NaN}',
        b'{"t": NaN, "p": 100}',
        b'{"t": %(t)s, "p": null}',
        b'{"t": null, "p": 100}',
        b'{"t": %(t)s, "p": 1%(big)s}',
    ],
)
async def test_nan_and_infinite_readings_are_dropped(
    meter: Meter, caplog: pytest.LogCaptureFixture, bad: bytes
) -> None:
    good = json.dumps(batch()).encode()
    sample = bad % {b"t": str(time.time() - 10).encode(), b"big": b"0" * 400}
    raw = good.replace(b'"samples": [', b'"samples": [' + sample + b", ")
    response = await meter.post(raw=raw)
    assert await response.json() == {
        "ok": True,
        "accepted": 3,
        "duplicates": 0,
        "dropped": 1,
        "seq": 0,
    }
    assert len(meter.readings) == 3
    assert_quiet(caplog)


@pytest.mark.parametrize(
    "values",
    [
        {"v": 79.9},
        {"v": 260.1},
        {"i": -0.001},
        {"i": 100.5},
        {"p": -1.0},
        {"p": 23000.1},
        {"f": 44.9},
        {"f": 65.1},
        {"pf": -0.01},
        {"pf": 1.01},
        {"e": -1.0},
    ],
)
async def test_out_of_range_readings_are_dropped(meter: Meter, values: dict[str, float]) -> None:
    payload = batch()
    payload["samples"][1] |= values
    response = await meter.post(payload)
    assert await response.json() == {
        "ok": True,
        "accepted": 2,
        "duplicates": 0,
        "dropped": 1,
        "seq": 0,
    }
    assert [r.p for r in meter.readings] == [250.0, 252.0]


async def test_range_limits_themselves_are_accepted(meter: Meter) -> None:
    now = time.time()
    samples = [
        {"t": now - 2, "p": 0.0, "v": 80.0, "i": 0.0, "f": 45.0, "pf": 0.0, "e": 0.0},
        {"t": now - 1, "p": 23000.0, "v": 260.0, "i": 100.0, "f": 65.0, "pf": 1.0, "e": 9999990.0},
    ]
    response = await meter.post(batch(samples=samples))
    assert (await response.json())["accepted"] == 2


@pytest.mark.parametrize(
    ("offset_s", "accepted"),
    [
        (299.0, 1),
        (310.0, 0),
        (86400.0 * 365 * 30, 0),
        (-6.9 * 86400, 1),
        (-7.1 * 86400, 0),
        (-time.time(), 0),
        (-time.time() - 1e9, 0),
    ],
    ids=["near-future", "future", "far-future", "six-days-old", "week-old", "epoch", "negative"],
)
async def test_timestamps_far_from_now_are_dropped(
    meter: Meter, offset_s: float, accepted: int
) -> None:
    response = await meter.post(batch(samples=[{"t": time.time() + offset_s, "p": 100.0}]))
    ack = await response.json()
    assert (ack["accepted"], ack["dropped"]) == (accepted, 1 - accepted)
    assert len(meter.readings) == accepted


async def test_replayed_batch_is_a_duplicate(
    meter: Meter, caplog: pytest.LogCaptureFixture
) -> None:
    payload = batch(seq=7)
    first = await (await meter.post(payload)).json()
    replay = await (await meter.post(payload)).json()
    assert first == {"ok": True, "accepted": 3, "duplicates": 0, "dropped": 0, "seq": 7}
    assert replay == {"ok": True, "accepted": 0, "duplicates": 3, "dropped": 0, "seq": 7}
    assert [len(readings) for _, readings in meter.delivered] == [3, 0]
    # The same seq after a reboot (new boot id) is a new batch.
    later = [{"t": time.time() + 1, "p": 9.0}]
    rebooted = await (await meter.post(batch(seq=7, samples=later, boot_id="0a0a0a0a"))).json()
    assert rebooted["accepted"] == 1
    assert_quiet(caplog)


async def test_resent_samples_in_a_new_batch_count_as_duplicates(meter: Meter) -> None:
    payload = batch(seq=1)
    await meter.post(payload)
    now = time.time()
    resent = batch(seq=2, samples=[*payload["samples"][1:], {"t": now + 1, "p": 300.0}])
    ack = await (await meter.post(resent)).json()
    assert (ack["accepted"], ack["duplicates"]) == (1, 2)
    assert [r.p for r in meter.readings] == [250.0, 251.0, 252.0, 300.0]


async def test_out_of_order_samples_are_merged_in_time_order(meter: Meter) -> None:
    now = time.time()
    samples = [{"t": now - dt, "p": 100.0 + dt} for dt in (3, 1, 5, 2, 4, 2)]
    ack = await (await meter.post(batch(samples=samples))).json()
    assert (ack["accepted"], ack["duplicates"]) == (5, 1)
    times = [r.t for r in meter.readings]
    assert times == sorted(times)
    assert [r.p for r in meter.readings] == [105.0, 104.0, 103.0, 102.0, 101.0]


async def test_flood_is_429_with_retry_after(
    still_clock: None, meter: Meter, caplog: pytest.LogCaptureFixture
) -> None:
    statuses = []
    for seq in range(80):
        response = await meter.post(batch(seq=seq, samples=[]))
        statuses.append(response.status)
        if response.status == 429:
            await assert_error(response, 429, "rate_limited")
            assert int(response.headers["Retry-After"]) >= 1
    default_burst = int(RateLimit().burst)
    assert statuses == [200] * default_burst + [429] * (80 - default_burst)
    assert_quiet(caplog)


async def test_rejected_flood_stores_nothing(still_clock: None, meter: Meter) -> None:
    for seq in range(70):
        await meter.post(batch(seq=seq, samples=[]))
    before = len(meter.delivered)
    await assert_error(await meter.post(batch(seq=99)), 429, "rate_limited")
    assert len(meter.delivered) == before
    assert meter.readings == []


async def test_unauthenticated_flood_does_not_throttle_the_meter(
    still_clock: None, meter: Meter
) -> None:
    for _ in range(100):
        await meter.post(batch(), headers={"X-NILM-Key": "guess"})
    assert (await meter.post(batch())).status == 200


async def test_only_post_is_allowed(meter: Meter) -> None:
    response = await meter.client.put(URL, data=json.dumps(batch()), headers=HEADERS)
    assert response.status == 405
    assert meter.delivered == []


async def test_unregistered_webhook_is_not_acknowledged(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_client_no_auth: Callable[[], Coroutine[Any, Any, TestClient]],
) -> None:
    assert await async_setup_component(hass, "webhook", {})
    unregister = async_register_meter_webhook(hass, entry, lambda info, readings: None)
    unregister()
    client = await hass_client_no_auth()
    response = await client.post(URL, data=json.dumps(batch()), headers=HEADERS)
    # Home Assistant answers 200 for an unknown id: only the missing "ok" tells the meter.
    assert response.status == 200
    assert await response.text() == ""


@pytest.mark.parametrize(("options", "local_only"), [({}, True), ({"allow_external": True}, False)])
async def test_local_only_unless_external_is_allowed(
    hass: HomeAssistant, hass_ws_client: Any, options: dict[str, bool], local_only: bool
) -> None:
    entry = MockConfigEntry(
        domain="nilm", data={"webhook_id": WEBHOOK_ID, "api_key": KEY}, options=options
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "webhook", {})
    async_register_meter_webhook(hass, entry, lambda info, readings: None)
    client = await hass_ws_client(hass)
    await client.send_json({"id": 1, "type": "webhook/list"})
    reply = await client.receive_json()
    [registered] = [hook for hook in reply["result"] if hook["webhook_id"] == WEBHOOK_ID]
    assert registered["local_only"] is local_only
    assert registered["domain"] == "nilm"
    assert registered["allowed_methods"] == ["POST"]


async def test_a_failing_consumer_is_answered_500_and_logged_by_us(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_client_no_auth: Callable[[], Coroutine[Any, Any, TestClient]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(info: MeterInfo, readings: list[MeterReading]) -> None:
        raise RuntimeError("coordinator bug")

    assert await async_setup_component(hass, "webhook", {})
    async_register_meter_webhook(hass, entry, broken)
    client = await hass_client_no_auth()
    payload = batch(seq=3)
    response = await client.post(URL, data=json.dumps(payload), headers=HEADERS)
    await assert_error(response, 500, "internal_error")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["custom_components.nilm"]
    assert errors[0].exc_info is not None


async def test_truncated_upload_is_answered_quietly(
    meter: Meter, caplog: pytest.LogCaptureFixture
) -> None:
    # A client that promises 1000 bytes, sends 10 and hangs up: nothing stored, nothing logged.
    server = meter.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    head = f"POST {URL} HTTP/1.1\r\nHost: x\r\nX-NILM-Key: {KEY}\r\nContent-Length: 1000\r\n\r\n"
    writer.write(head.encode() + b'{"device_i')
    await writer.drain()
    writer.write_eof()
    await reader.read()
    writer.close()
    await asyncio.sleep(0.05)
    assert meter.delivered == []
    assert_quiet(caplog)
