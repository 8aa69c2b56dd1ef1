"""Hand samples to a sink at real time or faster, in the chunks a meter would post."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
import time

from .sample import MeterSample

type Deliver = Callable[[list[MeterSample]], Awaitable[None]]


def chunks(samples: Sequence[MeterSample], batch_seconds: float) -> list[list[MeterSample]]:
    """Split time-ordered samples into windows of `batch_seconds` from the first (<= 0: one per sample)."""
    if batch_seconds <= 0:
        return [[sample] for sample in samples]
    result: list[list[MeterSample]] = []
    origin = samples[0].t if samples else 0.0
    window_end = float("-inf")
    for sample in samples:
        if sample.t >= window_end:
            result.append([])
            window_end = origin + ((sample.t - origin) // batch_seconds + 1) * batch_seconds
        result[-1].append(sample)
    return result


async def play(
    samples: Sequence[MeterSample], deliver: Deliver, *, speed: float, batch_seconds: float
) -> None:
    """Deliver each chunk once its last sample is due: sample time / `speed` after the start (0: at once)."""
    if not samples:
        return
    first = samples[0].t
    wall_start = time.monotonic()
    for chunk in chunks(samples, batch_seconds):
        if speed > 0:
            due = wall_start + (chunk[-1].t - first) / speed
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        await deliver(chunk)
