"""Units behind the endpoint: readings, the payload parser, the rate limit and the delivery memory."""

from __future__ import annotations

import contextlib
import json
import math

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.nilm.engine import Sample
from custom_components.nilm.ingest import MeterIngest, RateLimit, TokenBucket
from custom_components.nilm.meter import MeterInfo, MeterReading, PayloadError
from custom_components.nilm.payload import MeterBatch, parse_batch

NOW = 1_800_000_000.0


def test_reactive_power_from_v_i_p() -> None:
    assert MeterReading(t=0, p=300.0, v=250.0, i=2.0).reactive_power == pytest.approx(400.0)
    # P above V*I by resolution: clamped, never NaN.
    assert MeterReading(t=0, p=23.5, v=230.0, i=0.1).reactive_power == 0.0
    assert MeterReading(t=0, p=300.0, v=250.0).reactive_power is None


def test_reading_becomes_an_engine_sample() -> None:
    reading = MeterReading(t=5.0, p=300.0, v=250.0, i=2.0, e=10.0, f=50.0, pf=0.6)
    assert reading.to_sample() == Sample(5.0, 300.0, q=pytest.approx(400.0), i=2.0, v=250.0, pf=0.6)


def batch(seq: int, times: list[float], device: str = "m", dropped: int = 0) -> MeterBatch:
    readings = [MeterReading(t=t, p=1.0) for t in times]
    return MeterBatch(MeterInfo(device, None), "boot", seq, readings, dropped)


def test_steady_meter_is_never_throttled() -> None:
    bucket = TokenBucket(RateLimit(), now=0.0)
    # A day of one batch per second.
    assert all(bucket.take(float(second)) == 0.0 for second in range(86400))


def test_catch_up_burst_then_paced() -> None:
    limit = RateLimit(per_second=5.0, burst=60.0)
    bucket = TokenBucket(limit, now=100.0)
    assert all(bucket.take(100.0) == 0.0 for _ in range(60))
    wait = bucket.take(100.0)
    assert wait == pytest.approx(0.2)
    # After waiting as told, the meter is served again.
    assert bucket.take(100.0 + wait) == 0.0
    # A clock that steps back never adds tokens.
    assert bucket.take(50.0) > 0.0
    # An hour of silence refills the burst, not an hour of tokens.
    granted = [bucket.take(3700.0) == 0.0 for _ in range(61)]
    assert granted == [True] * 60 + [False]


def test_retry_of_a_batch_is_a_duplicate_and_memory_is_bounded() -> None:
    ingest = MeterIngest(max_batches=3, max_meters=2)
    first = ingest.ingest(batch(0, [1.0, 2.0], dropped=1))
    assert (first.accepted, first.duplicates, first.dropped) == (2, 0, 1)
    retry = ingest.ingest(batch(0, [1.0, 2.0], dropped=1))
    assert (retry.readings, retry.accepted, retry.duplicates, retry.dropped) == ([], 0, 3, 0)
    for seq in range(1, 4):
        ingest.ingest(batch(seq, [10.0 + seq]))
    # A retry keeps its key fresh: batch 1, retried, outlives batch 2 (a forgotten key would count its
    # dropped sample as dropped again, not as part of a duplicate batch).
    ingest.ingest(batch(1, [11.0]))
    ingest.ingest(batch(4, [14.0]))
    again = ingest.ingest(batch(1, [11.0], dropped=1))
    assert (again.duplicates, again.dropped) == (2, 0)
    # Batch 0 was evicted; its samples are older than what was delivered since: still duplicates.
    evicted = ingest.ingest(batch(0, [1.0, 2.0]))
    assert (evicted.accepted, evicted.duplicates) == (0, 2)


def test_meters_are_ordered_independently_and_bounded() -> None:
    ingest = MeterIngest(max_batches=10, max_meters=2)
    assert ingest.ingest(batch(0, [5.0], device="a")).accepted == 1
    assert ingest.ingest(batch(0, [1.0], device="b")).accepted == 1
    assert ingest.ingest(batch(1, [3.0], device="a")).duplicates == 1
    ingest.ingest(batch(0, [1.0], device="c"))
    # "a" was the least recently delivered meter and was forgotten: its old time is accepted again.
    assert ingest.ingest(batch(2, [3.0], device="a")).accepted == 1


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["t", "p", "v", "seq", "samples", "x"]), children, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    device_id=JSON_VALUES | st.just("m"),
    seq=JSON_VALUES | st.just(1),
    samples=st.lists(
        st.dictionaries(st.sampled_from(["t", "p", "v", "i", "e", "f", "pf"]), JSON_VALUES)
        | JSON_VALUES,
        max_size=5,
    ),
)
def test_any_json_is_parsed_or_refused_with_a_payload_error(
    device_id: object, seq: object, samples: list[object]
) -> None:
    body = json.dumps({"device_id": device_id, "boot_id": "b", "seq": seq, "samples": samples})
    refused: str | None = None
    try:
        parsed = parse_batch(body.encode(), NOW)
    except PayloadError as err:
        refused = err.code
    if refused is not None:
        assert refused in {"invalid_field", "invalid_type", "missing_field"}
        return
    assert parsed.size == len(samples)
    for reading in parsed.readings:
        assert math.isfinite(reading.t)
        assert 0.0 <= reading.p <= 23000.0


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_else(body: bytes) -> None:
    with contextlib.suppress(PayloadError):
        parse_batch(body, NOW)
