"""Which simulated appliance caused a detected event: the simulator's ground truth, looked up by time and step.

scripts/develop labels the first events of a few appliances with it, and the end-to-end tests label a scripted
day the way a careful user would.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
import threading

import numpy as np

from .simulator import HouseholdTrace

# Readable names for the simulator's appliance models.
DISPLAY_NAMES: Mapping[str, str] = {
    "kettle": "Kettle",
    "fridge": "Fridge",
    "washing_machine": "Washing machine",
    "lights": "Lights",
    "tv": "TV",
}
# Around an event, the level before is read over [t - BEFORE_S, t - GUARD_S) and the level after over
# [t + SETTLE_S, t + SETTLE_S + AFTER_S): motors' inrush is over by then, and a detector may stamp a step a
# second or two early or late.
BEFORE_S, GUARD_S, SETTLE_S, AFTER_S = 8.0, 2.0, 4.0, 6.0
# How far the truth's step may differ from the detected one: 25 % or 20 W, whichever is larger.
TOLERANCE = 0.25
TOLERANCE_W = 20.0


def event_time(event: Mapping[str, object]) -> float:
    """Epoch seconds of an event as the `nilm.list_events` action reports it (ISO 8601 with offset)."""
    return datetime.fromisoformat(str(event["time"])).timestamp()


class TruthLog:
    """The per-appliance truth of the traces fed so far, for a bounded time span (thread-safe)."""

    def __init__(self, keep_s: float = 6 * 3600.0) -> None:
        """Keep the last `keep_s` seconds of truth."""
        self._keep_s = keep_s
        self._lock = threading.Lock()
        self._t = np.empty(0)
        self._truth: dict[str, np.ndarray] = {}

    def add(self, trace: HouseholdTrace) -> None:
        """Append a trace that follows the previous ones in time."""
        with self._lock:
            keep = self._t >= trace.t[-1] - self._keep_s
            self._t = np.concatenate((self._t[keep], trace.t))
            for name, power in trace.truth.items():
                if name == "baseload":
                    continue
                old = self._truth.get(name, np.zeros(len(keep)))[keep]
                self._truth[name] = np.concatenate((old, power))

    def appliance_at(self, t: float, step_w: float) -> str | None:
        """The appliance whose own power stepped by about `step_w` at `t` (None: no clear match)."""
        with self._lock:
            before = (self._t >= t - BEFORE_S) & (self._t < t - GUARD_S)
            after = (self._t >= t + SETTLE_S) & (self._t < t + SETTLE_S + AFTER_S)
            if not before.any() or not after.any():
                return None
            best: tuple[float, str] | None = None
            for name, power in self._truth.items():
                step = float(np.median(power[after]) - np.median(power[before]))
                error = abs(step - step_w)
                if error <= max(TOLERANCE * abs(step_w), TOLERANCE_W) and (
                    best is None or error < best[0]
                ):
                    best = (error, name)
            return best[1] if best else None
