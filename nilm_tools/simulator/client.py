"""The meter's side of the push protocol, as the firmware does it (docs/CONTRACTS.md "Meter push payload").

Samples wait in a bounded buffer (oldest dropped and counted when full). A batch, once formed, keeps its seq and
samples until the endpoint acknowledges it with `"ok": true`, so a retry after a lost answer is recognised as a
duplicate. Failures back off exponentially with jitter; a 429 waits for Retry-After.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
import json
import logging
import random
import secrets
import time
from types import TracebackType
from typing import Any, Final, Self

import aiohttp

from .sample import MeterSample

MAX_SAMPLES: Final = 600
MAX_BODY_BYTES: Final = 65536
KEY_HEADER: Final = "X-NILM-Key"
FIRMWARE: Final = "sim-1.0.0"

_LOGGER = logging.getLogger(__name__)


class MeterAuthError(RuntimeError):
    """The endpoint refused the key (401): retrying cannot help."""


class DeliveryError(RuntimeError):
    """Samples could not be delivered within the allowed attempts."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry `attempt` (1, 2, ...): base x 2^(attempt-1), capped, +-jitter fraction."""

    base_s: float = 1.0
    cap_s: float = 60.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before the given retry."""
        delay = min(self.cap_s, self.base_s * 2.0 ** (attempt - 1))
        return delay * (1.0 + rng.uniform(-self.jitter, self.jitter))


@dataclass(slots=True)
class PushReport:
    """Running totals of one meter client (one boot)."""

    batches: int = 0
    accepted: int = 0
    duplicates: int = 0
    dropped: int = 0
    rejected: int = 0
    failures: int = 0
    buffer_overflow: int = 0


@dataclass(frozen=True, slots=True)
class Batch:
    """A formed batch: its sequence number and encoded body stay fixed across retries."""

    seq: int
    size: int
    body: bytes


class MeterClient:
    """Push samples to a meter webhook like the firmware does; use as an async context manager."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        device_id: str = "nilm-sim-000001",
        boot_id: str | None = None,
        fw: str = FIRMWARE,
        buffer_limit: int = 86400,
        batch_limit: int = MAX_SAMPLES,
        backoff: Backoff | None = None,
        timeout_s: float = 5.0,
        seed: int | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """Configure one boot of a meter: a fresh random boot id and seq 0 unless given."""
        self.url = url
        self._key = key
        self.device_id = device_id
        self.boot_id = boot_id or secrets.token_hex(4)
        self.fw = fw
        self.report = PushReport()
        self._buffer: deque[MeterSample] = deque()
        self._buffer_limit = buffer_limit
        self._batch_limit = min(batch_limit, MAX_SAMPLES)
        self._inflight: Batch | None = None
        self._seq = 0
        self._backoff = backoff or Backoff()
        self._rng = random.Random(seed)
        self._attempt = 0
        self._next_attempt = 0.0
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> Self:
        """Open the HTTP session (unless one was given)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the session this client opened."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def pending(self) -> int:
        """Samples not yet acknowledged."""
        return len(self._buffer) + (self._inflight.size if self._inflight else 0)

    @property
    def next_attempt_in(self) -> float:
        """Seconds until the back-off allows the next request (0 when allowed now)."""
        return max(0.0, self._next_attempt - time.monotonic())

    def add(self, samples: Iterable[MeterSample]) -> None:
        """Buffer samples; when the buffer is full the oldest are dropped and counted, like the firmware."""
        for sample in samples:
            if len(self._buffer) >= self._buffer_limit:
                self._buffer.popleft()
                self.report.buffer_overflow += 1
            self._buffer.append(sample)

    async def send_pending(self) -> bool:
        """Send buffered batches now until all are delivered or one fails; return True when none is left.

        Does nothing while the back-off of an earlier failure runs.
        """
        while self.pending:
            if self.next_attempt_in > 0 or not await self._send(self._next_batch()):
                return False
        return True

    async def push(self, samples: Iterable[MeterSample], *, max_attempts: int = 8) -> PushReport:
        """Buffer samples and deliver everything pending, sleeping through back-offs.

        Raises:
            DeliveryError: still undelivered after `max_attempts` consecutive failures.
            MeterAuthError: the key was refused.
        """
        self.add(samples)
        while not await self.send_pending():
            if self._attempt >= max_attempts:
                raise DeliveryError(
                    f"{self.pending} samples undelivered after {self._attempt} attempts to {self.url}"
                )
            await asyncio.sleep(self.next_attempt_in)
        return self.report

    def _next_batch(self) -> Batch:
        """The batch in flight, or a new one from the oldest buffered samples within both limits."""
        if self._inflight is None:
            header = {"device_id": self.device_id, "boot_id": self.boot_id, "seq": self._seq}
            prefix = json.dumps(header | {"fw": self.fw}, separators=(",", ":"))[:-1].encode()
            prefix += b',"samples":['
            rows: list[bytes] = []
            length = len(prefix) + 2  # the closing "]}"
            while self._buffer and len(rows) < self._batch_limit:
                row = json.dumps(self._buffer[0].to_json(), separators=(",", ":")).encode()
                if length + len(row) + 1 > MAX_BODY_BYTES:
                    break
                rows.append(row)
                length += len(row) + 1
                self._buffer.popleft()
            body = prefix + b",".join(rows) + b"]}"
            self._inflight = Batch(seq=self._seq, size=len(rows), body=body)
            self._seq += 1
        return self._inflight

    def _failed(self, delay: float | None = None) -> bool:
        self._attempt += 1
        self.report.failures += 1
        wait = self._backoff.delay(self._attempt, self._rng) if delay is None else delay
        self._next_attempt = time.monotonic() + wait
        return False

    async def _send(self, batch: Batch) -> bool:
        """POST one batch; True when acknowledged (or refused for good, so the queue moves on)."""
        assert self._session is not None, "use MeterClient as an async context manager"
        headers = {KEY_HEADER: self._key, "Content-Type": "application/json"}
        try:
            async with self._session.post(
                self.url, data=batch.body, headers=headers, timeout=self._timeout
            ) as response:
                status = response.status
                text = await response.text()
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError) as err:
            _LOGGER.info("Meter push seq %s failed: %s", batch.seq, err)
            return self._failed()
        if status == 401:
            raise MeterAuthError(f"{self.url} refused the key (401)")
        if status == 429:
            _LOGGER.info("Meter push seq %s rate limited, retry after %s s", batch.seq, retry_after)
            return self._failed(_seconds(retry_after))
        if status in (400, 413):
            # The endpoint will never take this batch; the firmware drops it rather than stall forever.
            _LOGGER.warning("Meter push seq %s refused (%s): %s", batch.seq, status, text[:200])
            self.report.rejected += batch.size
            self._delivered()
            return True
        ack = _ack(text) if status == 200 else None
        if ack is None:
            # Home Assistant answers 200 with an empty body for an unknown or remote-refused webhook.
            _LOGGER.info("Meter push seq %s not acknowledged (HTTP %s)", batch.seq, status)
            return self._failed()
        self.report.batches += 1
        self.report.accepted += int(ack.get("accepted", 0))
        self.report.duplicates += int(ack.get("duplicates", 0))
        self.report.dropped += int(ack.get("dropped", 0))
        self._delivered()
        return True

    def _delivered(self) -> None:
        self._inflight = None
        self._attempt = 0
        self._next_attempt = 0.0


def _ack(text: str) -> dict[str, Any] | None:
    """The acknowledgement when the body is one with `"ok": true`, else None."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("ok") is True else None


def _seconds(header: str | None) -> float:
    """Retry-After in seconds (the endpoint sends delta seconds); 1 s when absent or unreadable."""
    try:
        return max(0.0, float(header)) if header is not None else 1.0
    except ValueError:
        return 1.0
