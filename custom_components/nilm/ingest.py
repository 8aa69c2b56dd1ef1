"""Per-webhook ingestion state: the rate limit, recognising retried batches, time order across batches.

Everything here is bounded: a fixed number of remembered batch keys and of meters, whatever a client sends.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from .meter import MeterReading
from .payload import MeterBatch

# Retries come within minutes; 1024 batches cover hours of a meter posting every few seconds.
MAX_REMEMBERED_BATCHES: Final = 1024
# One webhook serves one meter; a few more device ids (a replaced board) are remembered, never unbounded.
MAX_METERS: Final = 8


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Token bucket: `per_second` batches sustained, `burst` back to back.

    The default lets a meter posting every second run forever and one catching up after an outage send
    60 full batches (10 h of 1 Hz samples) at once before it has to pace itself at 5 batches per second.
    """

    per_second: float = 5.0
    burst: float = 60.0


class TokenBucket:
    """Classic token bucket over an explicit clock (seconds), so callers and tests choose the time source."""

    def __init__(self, limit: RateLimit, now: float) -> None:
        """Start full: a meter that just came back may catch up at once."""
        self._limit = limit
        self._tokens = limit.burst
        self._last = now

    def take(self, now: float) -> float:
        """Take one token; return 0.0 when granted, else the seconds until one is available."""
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self._limit.burst, self._tokens + elapsed * self._limit.per_second)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._limit.per_second


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one batch contributed: the readings to deliver and the counts of the acknowledgement."""

    readings: list[MeterReading]
    accepted: int
    duplicates: int
    dropped: int


class MeterIngest:
    """Turns checked batches into new, time-ordered readings, remembering what was delivered."""

    def __init__(
        self, max_batches: int = MAX_REMEMBERED_BATCHES, max_meters: int = MAX_METERS
    ) -> None:
        """Remember at most `max_batches` batch keys and the newest timestamp of `max_meters` meters."""
        self._max_batches = max_batches
        self._max_meters = max_meters
        self._batches: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        self._newest: OrderedDict[str, float] = OrderedDict()

    def ingest(self, batch: MeterBatch) -> IngestResult:
        """Return the batch's readings that are new, in time order, and record them as delivered.

        A batch key seen before is a retry: nothing is delivered and all its samples are duplicates. Inside a
        new batch the samples are merged in time order; a sample at or before the newest one already delivered
        for that meter (a re-sent sample, or a repeated timestamp) also counts as a duplicate, because the
        engine needs strictly increasing time.
        """
        if batch.key in self._batches:
            self._batches.move_to_end(batch.key)
            return IngestResult(readings=[], accepted=0, duplicates=batch.size, dropped=0)
        self._remember(self._batches, batch.key, None, self._max_batches)

        device_id = batch.info.device_id
        newest = self._newest.get(device_id, float("-inf"))
        fresh: list[MeterReading] = []
        for reading in sorted(batch.readings, key=lambda reading: reading.t):
            if reading.t > newest:
                fresh.append(reading)
                newest = reading.t
        if fresh:
            self._remember(self._newest, device_id, newest, self._max_meters)
        return IngestResult(
            readings=fresh,
            accepted=len(fresh),
            duplicates=len(batch.readings) - len(fresh),
            dropped=batch.dropped,
        )

    @staticmethod
    def _remember[K, V](store: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
        """Insert or refresh a key, evicting the least recently used beyond `limit`."""
        store[key] = value
        store.move_to_end(key)
        while len(store) > limit:
            store.popitem(last=False)
