"""The Engine facade: samples in; events, appliance states, powers and energy out; labels teach it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
import math
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .accounting import Accounting
from .classifier import Signature
from .detector import Fall, Step
from .features import describe, step_power_factor
from .labels import Labeling
from .model import Appliance, EngineConfig, Event, InvalidNameError, Sample, Snapshot, Update
from .state import FloatArray, add_revised, valid_name

# Readings beyond any household supply are meter faults, not power.
MAX_ABS_POWER_W = 1.0e6
# Timestamps outside 1970..2100 are clock faults; one far in the future would block every later reading.
MAX_T = 4_102_444_800.0
# Readings back a step's powers are given to (its switch to its confirmation): beyond the longest transition.
BACKFILL_ROWS = 2048
# A fall within this many seconds of a rise that returns at least this share of it ends an inrush. A 1 s
# reading averages a sub-second inrush with the running level, so a start often reads only a third above it
# (a TV's backlight, a compressor): at a half, those settlings were OFFs of their own, and their starts ONs of
# the peak's size (tracebase seeds 1-16 0.481 -> 0.490, held-out seeds 17-32 +0.005; 0.05-0.35 alike).
INRUSH_S = 5.0
INRUSH_RETURN_SHARE = 0.25


class Engine(Labeling, Accounting):
    """Non-intrusive load monitoring of one meter: the API the integration and the tools drive."""

    def feed(self, samples: Sequence[Sample]) -> Update:
        """Feed readings in any order or quality; bad ones are dropped and counted."""
        if not samples:
            return Update()
        return self.feed_arrays(
            [s.t for s in samples],
            [s.p for s in samples],
            q=_column([s.q for s in samples]),
            i=_column([s.i for s in samples]),
        )

    def feed_arrays(
        self,
        t: ArrayLike,
        p: ArrayLike,
        q: ArrayLike | None = None,
        i: ArrayLike | None = None,
        v: ArrayLike | None = None,
        pf: ArrayLike | None = None,
        *,
        powers: dict[str, FloatArray] | None = None,
    ) -> Update:
        """Feed columns (the fast replay path). With `powers`, fill it with each appliance's power per kept row.

        Voltage and power factor are accepted for symmetry with the meter; the step features use P, Q and I.
        """
        del v, pf
        t_arr = np.asarray(t, dtype=np.float64).ravel()
        p_arr = np.asarray(p, dtype=np.float64).ravel()
        if t_arr.shape != p_arr.shape:
            raise ValueError("t and p must have the same length")
        n_in = t_arr.size
        keep = (t_arr > 0.0) & (t_arr < MAX_T) & np.isfinite(p_arr)
        keep &= np.abs(p_arr) < MAX_ABS_POWER_W
        keep &= _strictly_after(np.where(keep, t_arr, np.nan), self.last_t)
        t_arr, p_arr = t_arr[keep], p_arr[keep]
        q_arr = _optional(q, keep, n_in)
        i_arr = _optional(i, keep, n_in)
        update = Update(accepted=int(t_arr.size), dropped=int(n_in - t_arr.size))
        self.dropped += update.dropped
        if t_arr.size == 0:
            return update
        steps = self.detector.process(
            t_arr.tolist(),
            p_arr.tolist(),
            None if q_arr is None else q_arr.tolist(),
            None if i_arr is None else i_arr.tolist(),
        )
        update.steps = steps
        self._integrate_from_previous(t_arr[0])
        for fall in self._later_falls:
            self._recheck(fall.t, fall.level_w, fall.floor_w)
        self._later_falls = []
        # Steps take effect from the reading that confirmed them, falls of the level once that reading is
        # counted, a new baseload after that reading's step: whatever the batch, as a feed of one reading at
        # a time (Home Assistant's) knows no earlier, so a replay in large batches must not either.
        marks: list[tuple[int, int, Step | Fall | float]] = [(s.confirmed, 1, s) for s in steps]
        marks += [(fall.confirmed + 1, 0, fall) for fall in self.detector.falls]
        marks += [(row, 2, baseload) for row, baseload in self.detector.baseloads]
        marks.sort(key=lambda mark: mark[:2])
        start = 0
        for row, _, step in marks:
            stop = max(start, row)
            self._integrate_span(t_arr, p_arr, start, stop, powers, update)
            start = stop
            if isinstance(step, float):
                self.baseload_w = step
                continue
            if isinstance(step, Fall):
                if row < t_arr.size:
                    self._recheck(step.t, step.level_w, step.floor_w)
                else:
                    self._later_falls.append(step)
                continue
            self.noise_w, self.period_s = step.noise_w, step.period_s
            running = set() if powers is None else set(self.tracker.appliance_powers())
            settled = self._settled_inrush(step)
            if settled is None:
                update.events.extend(self._on_step(step))
            else:
                # The inrush settled on an event an earlier call reported: report it again, revised (and
                # any appliance its net step turned out to share it with, as a new event).
                on, *shared = settled
                add_revised(update, on)
                update.events.extend(shared)
            # Steps this one showed to be another load's switching beside a pulse's edge.
            for event in self.revised:
                add_revised(update, event)
            self.revised.clear()
            if powers is not None:
                self._backfill(step, running, p_arr, powers, update)
        self._integrate_span(t_arr, p_arr, start, t_arr.size, powers, update)
        if self.detector.baseload_w is not None:
            self.baseload_w = self.detector.baseload_w
        self.last_t = float(t_arr[-1])
        self.mains_w = float(p_arr[-1])
        # Only callers that take powers get backfill; for the others the readings are not kept.
        self._recent_w = (
            np.empty(0)
            if powers is None
            else np.concatenate([self._recent_w, p_arr])[-BACKFILL_ROWS:]
        )
        return update

    def _backfill(
        self,
        step: Step,
        running: set[str],
        p: FloatArray,
        powers: dict[str, FloatArray],
        update: Update,
    ) -> None:
        """Give the readings from a step's switch to its confirmation the powers it set (fixed-lag estimate).

        Readings of this call are rewritten in `powers`; those of earlier calls (the mains of the last
        BACKFILL_ROWS readings is kept for them) go to `update.backfill`.
        """
        now = self.tracker.appliance_powers()
        first = max(step.index, 0)
        back = min(max(-step.index, 0), self._recent_w.size)
        # The share of the mains each reading leaves the appliances, the same for all of them.
        here = self.tracker.shares(p[first : step.confirmed])
        earlier = self.tracker.shares(self._recent_w[self._recent_w.size - back :])
        for appliance_id in running | set(now):
            power = now[appliance_id][0] if appliance_id in now else 0.0
            if here.size:
                column = powers.setdefault(appliance_id, np.zeros(p.size))
                if column.size == p.size:
                    column[first : step.confirmed] = power * here
            if earlier.size:
                # Of several steps confirmed in one call (a transition split in two), each rewrites the
                # readings from its own switch on: the last ones.
                known = update.backfill.get(appliance_id, np.empty(0))
                update.backfill[appliance_id] = np.concatenate(
                    [known[: max(0, known.size - earlier.size)], power * earlier]
                )

    def mark_gap(self) -> None:
        """The source was lost: no step or energy is measured across the outage."""
        self.detector.gap()
        self.gap_pending = True

    def _on_step(self, step: Step) -> list[Event]:
        """A confirmed step becomes an event, one per appliance it switched."""
        features = describe(step, self.zone)
        event = Event(
            id=self._next_event_id(),
            t=step.t,
            dp=step.dp,
            kind="on" if step.dp > 0 else "off",
            dq=step.dq,
            di=step.di,
            pf=features["pf"],
            overshoot_w=step.overshoot_w,
            transient_s=step.transient_s,
            hour=features["hour"] or 0.0,
            level_w=step.level_after,
        )
        if self.learning is not None and step.t > self.learning.until:
            self.learning = None
        parts = [event]
        if self.learning is not None:
            self.event_log.add(event)
            self._apply_label(event, self.learning.appliance_id, self.learning.state)
        else:
            parts += self._identify(event)
            for part in parts:
                self.event_log.add(part)
        self._recheck(step.t, step.level_after, step.floor_w)
        self.last_event = parts[-1]
        return parts

    def _settled_inrush(self, step: Step) -> list[Event] | None:
        """A fall soon after a rise that keeps part of it: a motor's inrush, not two events.

        The previous ON becomes the net step (its overshoot and transient widened) and is identified,
        or relearned if the user already labeled it, with that size. Returns that ON (then the new event
        of a second appliance, when the net step is two switching on together); None when the step is
        an event of its own.
        """
        event = self.last_event
        if (
            event is None
            or event.kind != "on"
            or step.dp >= 0
            or step.t - event.t > INRUSH_S
            or event.status == "ignored"
        ):
            return None
        net = event.dp + step.dp
        if net < step.threshold_w or -step.dp < INRUSH_RETURN_SHARE * event.dp:
            return None
        event.overshoot_w = max(event.overshoot_w, -step.dp)
        event.transient_s = step.t - event.t + step.transient_s
        event.dp = net
        event.dq = None if event.dq is None or step.dq is None else event.dq + step.dq
        event.di = None if event.di is None or step.di is None else event.di + step.di
        event.pf = step_power_factor(event.dp, event.dq)
        event.level_w = step.level_after
        self._undo(event.id)
        shared: list[Event] = []
        if event.status == "labeled" and event.appliance_id is not None:
            self._apply_label(event, event.appliance_id, None)
        else:
            # Identified afresh: what it was named for the step with its inrush no longer stands.
            event.appliance_id = event.state = None
            shared = self._identify(event)
            for part in shared:
                self.event_log.add(part)
        self.event_log.recount()
        self._recheck(step.t, step.level_after, step.floor_w)
        return [event, *shared]

    def rename_appliance(self, appliance_id: str, name: str) -> Appliance:
        """Give an appliance another name."""
        record = self._record(appliance_id)
        name = valid_name(name)
        other = self._find(name)
        if other is not None and other.id != record.id:
            raise InvalidNameError(f"an appliance named {name!r} exists")
        record.name = name
        return self._view(record)

    def merge_appliances(self, source_id: str, target_id: str) -> Appliance:
        """Fold one appliance into another: signatures, events and energy move; the source disappears."""
        source, target = self._record(source_id), self._record(target_id)
        if source.id == target.id:
            raise InvalidNameError("an appliance cannot be merged into itself")
        for (appliance_id, state), signature in list(self.signatures.items()):
            if appliance_id != source.id:
                continue
            del self.signatures[(appliance_id, state)]
            merged = self.signatures.setdefault((target.id, state), Signature(target.id, state))
            merged.absorb(signature, self.config.max_labeled_per_signature)
            if state not in target.states:
                target.states.append(state)
        for event in self.event_log:
            if event.appliance_id == source.id:
                event.appliance_id = target.id
        self._forget(source.id)
        self.ledger.merge(source.id, target.id)
        del self.appliances[source.id]
        return self._view(target)

    def delete_appliance(self, appliance_id: str) -> None:
        """Forget an appliance; its labeled events become unidentified again."""
        record = self._record(appliance_id)
        for key in [k for k in self.signatures if k[0] == record.id]:
            del self.signatures[key]
        for event in self.event_log:
            if event.appliance_id == record.id:
                event.appliance_id = None
                event.state = None
                event.status = "unidentified"
                event.confidence = 0.0
        self._forget(record.id)
        self.ledger.forget(record.id)
        del self.appliances[record.id]
        self.event_log.recount()

    def _forget(self, appliance_id: str) -> None:
        """Drop what was tracked and learned of an appliance's runs (it was deleted or merged away)."""
        self.tracker.forget(appliance_id)
        self.runs.forget(appliance_id)
        self.last_switch.pop(appliance_id, None)

    def set_price(self, price_per_kwh: float) -> None:
        """Energy from now on costs this much per kWh."""
        if not math.isfinite(price_per_kwh) or price_per_kwh < 0:
            raise ValueError("price must be a finite, non-negative number")
        self.config.price_per_kwh = price_per_kwh

    def to_dict(self) -> dict[str, Any]:
        """Versioned, JSON-able state: appliances, signatures, events, counters."""
        from .serialize import to_dict  # serialize builds on this module

        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], config: EngineConfig | None = None) -> Self:
        """Restore state written by to_dict; raises StateError when it cannot."""
        from .serialize import from_dict  # serialize builds on this module

        return from_dict(data, config, cls)

    def snapshot(self) -> Snapshot:
        """What entities show now."""
        powers = self.tracker.appliance_powers()
        share = self._share_now()
        appliances = {
            record.id: self._view(record, powers, share) for record in self.appliances.values()
        }
        explained = sum(a.power_w for a in appliances.values())
        mains = self.mains_w
        unidentified = 0.0 if mains is None else max(0.0, mains - self.baseload_w - explained)
        return Snapshot(
            t=self.last_t,
            mains_w=mains,
            baseload_w=self.baseload_w,
            unidentified_w=unidentified,
            unidentified_energy_kwh=self.ledger.unidentified_kwh,
            pending_count=self.event_log.pending_count,
            last_event=None if self.last_event is None else replace(self.last_event),
            appliances=appliances,
            projected_bill=self.ledger.projected_bill(self.last_t),
            period_cost=self.ledger.mains_period_cost,
            period_start=self.ledger.period_start,
        )


def _column(values: list[float | None]) -> list[float] | None:
    """A column of optional readings, or None when no reading has it."""
    if all(v is None for v in values):
        return None
    return [math.nan if v is None else v for v in values]


def _optional(column: ArrayLike | None, keep: NDArray[np.bool_], n: int) -> FloatArray | None:
    """An optional column restricted to kept rows (missing readings as NaN); None if it has none.

    A column of another length than the samples cannot be lined up with them and is ignored.
    """
    if column is None:
        return None
    arr = np.asarray(column, dtype=np.float64).ravel()
    if arr.size != n:
        return None
    arr = np.where(np.isfinite(arr[keep]), arr[keep], np.nan)
    return arr if bool(np.isfinite(arr).any()) else None


def _strictly_after(t: FloatArray, last_t: float | None) -> NDArray[np.bool_]:
    """Rows later than every earlier row and the previous batch: drops duplicates and out-of-order rows."""
    finite = np.where(np.isfinite(t), t, -np.inf)
    running = np.maximum.accumulate(finite)
    before = np.concatenate(([-np.inf if last_t is None else last_t], running[:-1]))
    before = np.maximum(before, -np.inf if last_t is None else last_t)
    kept: NDArray[np.bool_] = finite > before
    return kept
