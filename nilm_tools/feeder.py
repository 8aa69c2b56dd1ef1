"""Feed a simulated household into a meter webhook continuously, like a meter that never stops.

Sample time runs `speed` times faster than the wall clock from `start_t` until it reaches the present, then
stays live (a meter cannot send the future). The simulator's energy counter restarts with every simulated
window; the feeder carries it on so the meter's counter only ever grows, as the PZEM's does.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
import math
import threading
import time

from .ground_truth import TruthLog
from .simulator import Household, MeterClient, MeterSample

# The firmware posts every 5 s; one window is at most one full batch (600 samples at 1 Hz).
POST_PERIOD_S = 5.0
MAX_WINDOW_S = 600.0
IDLE_S = 0.25


class Feeder(threading.Thread):
    """A background thread pushing the household's samples to one meter webhook."""

    def __init__(
        self,
        url: str,
        key: str,
        household: Household,
        truth: TruthLog,
        *,
        start_t: float,
        speed: float,
        device_id: str = "nilm-sim-develop",
    ) -> None:
        """Nothing is sent until `start`."""
        super().__init__(name="nilm-feeder", daemon=True)
        if speed < 1.0 or not math.isfinite(speed):
            raise ValueError(f"speed must be a finite number >= 1, got {speed}")
        self.url = url
        self.key = key
        self.household = household
        self.truth = truth
        self.speed = speed
        self.device_id = device_id
        self.fed_until: float = math.floor(start_t)
        self.samples_sent = 0
        self.error: BaseException | None = None
        self._stopping = threading.Event()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the batch in flight."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout_s)

    def run(self) -> None:
        """Thread body: the feed loop in a private event loop; a fatal error is kept for the caller."""
        try:
            asyncio.run(self._feed())
        except Exception as err:  # noqa: BLE001 - reported by the main thread, which owns the console
            self.error = err

    async def _feed(self) -> None:
        wall0, sim0 = time.time(), self.fed_until
        last_e: float | None = None
        async with MeterClient(self.url, self.key, device_id=self.device_id) as meter:
            while not self._stopping.is_set():
                now = time.time()
                due = math.floor(min(now, sim0 + (now - wall0) * self.speed))
                if due - self.fed_until < POST_PERIOD_S:
                    if meter.pending:
                        await meter.send_pending()
                    await asyncio.sleep(IDLE_S)
                    continue
                duration = min(due - self.fed_until, MAX_WINDOW_S)
                trace = self.household.simulate(self.fed_until, duration)
                self.truth.add(trace)
                samples, last_e = _continue_counter(list(trace.samples()), last_e)
                meter.add(samples)
                await meter.send_pending()
                self.fed_until += duration
                self.samples_sent = meter.report.accepted


def _continue_counter(
    samples: list[MeterSample], last_e: float | None
) -> tuple[list[MeterSample], float | None]:
    """Shift a window's energy counter so it starts where the previous window's ended."""
    first = next((s.e for s in samples if s.e is not None), None)
    if first is None:
        return samples, last_e
    offset = 0.0 if last_e is None else last_e - first
    shifted = [s if s.e is None else replace(s, e=s.e + offset) for s in samples]
    return shifted, next((s.e for s in reversed(shifted) if s.e is not None), last_e)
