"""Run lengths as evidence: a load that pulses repeats its run length, and labels say whose run that is.

A coffee maker's element, a washer's drum and a magnetron switch every few seconds with steps the size of a
toaster's or a microwave's; the step alone cannot tell them apart, how long the last pulse of that size ran
can. Only runs a label anchors (the user named their ON or their OFF) teach a state its run lengths: runs the
engine paired on its own would teach it its own mistakes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
import math
from typing import Any, NamedTuple

from .tracker import StateKey

# A step soon after a run of its size ended is likely that load again: pulses come seconds to a minute
# apart. Longer, and the last run of that size is as likely another appliance's (a TV after a fridge cycle).
TRAIN_GAP_S = 120.0
# Two runs are of the same load's size within this share.
SAME_SIZE_SHARE = 0.25
# Runs remembered for the next ON (only the last TRAIN_GAP_S count) and labeled runs kept per state.
RECENT_RUNS = 32
LABELED_PER_STATE = 20
# Spread of the log run length when the labeled runs agree closely (one run, equal pulses): a factor 1.65.
MIN_LOG_SPREAD = 0.5
# Log prior of a run length that fits a state's labeled runs; one far outside counts against, to the floor.
FIT_BONUS = 2.0
MISFIT_FLOOR = -6.0
# A run this many spreads longer than a state's labeled runs is unlikely to be that state's.
OUTRUN_Z = 3.0
# One labeled run is no evidence of how long a state cannot run (it may have been a short one).
OUTRUN_MIN_RUNS = 2
# The spread of log run lengths assumed before runs are seen (a factor 2.7), worth this many runs.
TAIL_SPREAD = 1.0
TAIL_WEIGHT = 2.0


class _LogStats(NamedTuple):
    """A state's labeled log run lengths: mean, spread, the spread for judging long runs, how many."""

    mean: float
    spread: float
    tail_spread: float
    runs: int


@dataclass(frozen=True, slots=True)
class Run:
    """A run that an OFF event ended: when, how large, how long."""

    off_event_id: str
    end_t: float
    power_w: float
    duration_s: float


class RunHistory:
    """The last runs of any load, and the run lengths labels taught each appliance state."""

    def __init__(self) -> None:
        """Nothing has run."""
        self.recent: deque[Run] = deque(maxlen=RECENT_RUNS)
        self.labeled: dict[StateKey, list[tuple[str, float]]] = {}
        # What each state's log run lengths say: weighed at every ON of a pulse train and every deadline,
        # changed only by labels.
        self._stats: dict[StateKey, _LogStats] = {}

    def record(self, run: Run) -> None:
        """An OFF event ended a run (of any load, named or not)."""
        self.recent.append(run)

    def learn(self, key: StateKey, off_event_id: str, duration_s: float) -> None:
        """A label anchors a run of this state: its length is the state's."""
        runs = self.labeled.setdefault(key, [])
        runs.append((off_event_id, duration_s))
        del runs[:-LABELED_PER_STATE]
        self._stats.pop(key, None)

    def undo(self, off_event_id: str) -> None:
        """Take back what an OFF event recorded and taught (it is being relabeled)."""
        kept = [run for run in self.recent if run.off_event_id != off_event_id]
        if len(kept) != len(self.recent):
            self.recent = deque(kept, maxlen=RECENT_RUNS)
        for key in list(self.labeled):
            self.unteach(off_event_id, key)

    def unteach(self, off_event_id: str, key: StateKey) -> None:
        """The label that anchored a run of this state was taken back: its length no longer teaches."""
        runs = self.labeled.get(key, [])
        kept = [run for run in runs if run[0] != off_event_id]
        if len(kept) == len(runs):
            return
        self._stats.pop(key, None)
        if kept:
            runs[:] = kept
        else:
            del self.labeled[key]

    def forget(self, appliance_id: str) -> None:
        """Drop what an appliance's labels taught (it was deleted or merged away)."""
        for key in [k for k in self.labeled if k[0] == appliance_id]:
            del self.labeled[key]
            self._stats.pop(key, None)

    def previous(self, t: float, power_w: float) -> float | None:
        """How long the last run of about this size ran, if it ended within TRAIN_GAP_S before t."""
        latest: Run | None = None
        for run in self.recent:
            if (
                0.0 <= t - run.end_t <= TRAIN_GAP_S
                and abs(run.power_w - power_w) <= SAME_SIZE_SHARE * power_w
                and (latest is None or run.end_t > latest.end_t)
            ):
                latest = run
        return None if latest is None else latest.duration_s

    def fit(self, key: StateKey, duration_s: float) -> float:
        """Log prior that a run this long is the state's, from its labeled runs (0 without any)."""
        stats = self._log_stats(key)
        if stats is None:
            return 0.0
        z = (math.log(max(1.0, duration_s)) - stats.mean) / stats.spread
        return max(MISFIT_FLOOR, FIT_BONUS - 0.5 * z * z)

    def survival(self, key: StateKey, duration_s: float) -> float:
        """Log chance that a run of the state lasts at least this long, from its labeled runs (0 without)."""
        stats = self._log_stats(key)
        if stats is None:
            return 0.0
        z = (math.log(max(1.0, duration_s)) - stats.mean) / stats.tail_spread
        return max(MISFIT_FLOOR, math.log(max(1e-300, 0.5 * math.erfc(z / math.sqrt(2.0)))))

    def outrun_s(self, key: StateKey) -> float | None:
        """How long a run of the state may last before its labeled runs say it is another load's."""
        stats = self._log_stats(key)
        if stats is None or stats.runs < OUTRUN_MIN_RUNS:
            return None
        return math.exp(stats.mean + OUTRUN_Z * stats.tail_spread)

    def _log_stats(self, key: StateKey) -> _LogStats | None:
        """What a state's labeled log run lengths say, None without any (computed once per label change)."""
        stats = self._stats.get(key)
        if stats is None:
            runs = self.labeled.get(key)
            if not runs:
                return None
            logs = [math.log(max(1.0, d)) for _, d in runs]
            n = len(logs)
            mean = sum(logs) / n
            spread = max(MIN_LOG_SPREAD, math.sqrt(sum((x - mean) ** 2 for x in logs) / n))
            # A few runs that agree say little about how long the state can run: for judging a long run,
            # their spread leans towards TAIL_SPREAD.
            tail = math.sqrt((n * spread**2 + TAIL_WEIGHT * TAIL_SPREAD**2) / (n + TAIL_WEIGHT))
            stats = self._stats[key] = _LogStats(mean, spread, tail, n)
        return stats

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the saved state."""
        return {
            "recent": [[r.off_event_id, r.end_t, r.power_w, r.duration_s] for r in self.recent],
            "labeled": [
                [appliance_id, state, event_id, duration]
                for (appliance_id, state), runs in self.labeled.items()
                for event_id, duration in runs
            ],
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Read back what to_dict wrote."""
        for event_id, end_t, power_w, duration in data["recent"]:
            self.record(Run(str(event_id), float(end_t), float(power_w), float(duration)))
        for appliance_id, state, event_id, duration in data["labeled"]:
            self.learn((str(appliance_id), str(state)), str(event_id), float(duration))
