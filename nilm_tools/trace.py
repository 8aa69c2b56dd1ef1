"""`scripts/evaluate --trace FROM TO`: each event of a stretch of a recording and what the engine made of it.

For finding out why an appliance was named wrongly at some moment: each event in the window with its step, the
engine's answer (appliance, state, confidence) and its likeliest candidates, the appliance whose ground truth
changed by the closest amount (the one the simulated user names), whether that user labeled it, and what the
engine showed on after it. Inside the window the engine is fed one reading per call, as Home Assistant feeds
it, so what is on after an event is what its entities showed then; the engine's results do not depend on how
its readings are batched, so tracing changes no score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from custom_components.nilm.engine import Engine, Event, Update

if TYPE_CHECKING:
    # evaluate.py drives the trace (and imports this module).
    from .evaluate import TruthEvent

# Candidates shown per event, likeliest first.
CANDIDATES_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Trace:
    """The window to trace, in the file's timestamps (inclusive)."""

    start: float
    end: float

    def batch(self, t: NDArray[np.float64], start: int, size: int) -> int:
        """Rows to feed from `start` in one call: one inside the window; elsewhere `size`, up to the window."""
        if self.start <= t[start] <= self.end:
            return 1
        first = int(np.searchsorted(t, self.start))
        return first - start if start < first < start + size else size

    def record(
        self,
        update: Update,
        engine: Engine,
        appliance_of: dict[str, str],
        truth_of: Callable[[Event], TruthEvent | None],
        labeled: set[str],
    ) -> list[dict[str, Any]]:
        """One entry per event of this call inside the window (none for a call outside it).

        An event an earlier call reported and this one revised (an inrush settled, a load named late) is
        traced again, marked revised.
        """
        shown = [
            event for event in update.events + update.revised if self.start <= event.t <= self.end
        ]
        if not shown:
            return []
        revised = {event.id for event in update.revised}
        # Each labeled appliance by its column's name.
        names = {appliance_id: column for column, appliance_id in appliance_of.items()}

        def name(appliance_id: str | None) -> str | None:
            if appliance_id is None or appliance_id not in engine.appliances:
                return None
            return names.get(appliance_id, engine.appliances[appliance_id].name)

        on = {
            name(appliance.id) or appliance.name: round(appliance.power_w, 1)
            for appliance in engine.snapshot().appliances.values()
            if appliance.on
        }
        entries = []
        for event in shown:
            truth = truth_of(event)
            named = event.status != "unidentified"
            entries.append(
                {
                    "t": event.t,
                    "kind": event.kind,
                    "dp": round(event.dp, 1),
                    "status": event.status,
                    "appliance": name(event.appliance_id) if named else None,
                    "state": event.state if named else None,
                    "confidence": round(event.confidence, 3),
                    "candidates": [
                        [name(appliance_id), state, round(p, 3)]
                        for appliance_id, state, p in event.candidates[:CANDIDATES_SHOWN]
                    ],
                    "truth": None if truth is None else truth.appliance,
                    "truth_dp": None if truth is None else round(truth.dp, 1),
                    "labeled": event.id in labeled,
                    "revised": event.id in revised,
                    "on": on,
                }
            )
        return entries


def format_trace(entries: list[dict[str, Any]]) -> str:
    """One line per traced event: step, answer, candidates, ground truth, label, what was on after it."""
    lines = [
        "trace: time, step, the engine's answer (candidates), the ground truth's change; on after it"
    ]
    for entry in entries:
        answer = (
            f"{entry['appliance']}/{entry['state']} {entry['confidence']:.2f}"
            if entry["appliance"] is not None
            else f"{entry['status']} {entry['confidence']:.2f}"
        )
        candidates = ", ".join(f"{a}/{state} {p:.2f}" for a, state, p in entry["candidates"])
        truth = "none" if entry["truth"] is None else f"{entry['truth']} {entry['truth_dp']:+.0f} W"
        label = (" LABELED" if entry["labeled"] else "") + (
            " (revised)" if entry["revised"] else ""
        )
        on = ", ".join(f"{a} {p:.0f}" for a, p in sorted(entry["on"].items()))
        lines.append(
            f"  {entry['t']:.0f} {entry['kind']:<3} {entry['dp']:+7.0f} W  {answer} ({candidates})"
            f"  truth {truth}{label}  | on: {on or '-'}"
        )
    return "\n".join(lines)
