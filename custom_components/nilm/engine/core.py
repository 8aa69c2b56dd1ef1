"""The Engine facade: samples in; events, appliance states, powers and energy out; labels teach it."""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
import math
from typing import Any, NamedTuple, Self
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .classifier import (
    Option,
    Signature,
    admitted,
    classify,
    inrush_feature,
    joint_candidates,
)
from .detector import Detector, Fall, Step
from .energy import Ledger
from .eventlog import EventLog
from .features import describe, step_power_factor
from .grouping import group_events
from .model import (
    Appliance,
    EngineConfig,
    Event,
    EventGroup,
    InvalidNameError,
    Sample,
    Snapshot,
    UnknownApplianceError,
    UnknownGroupError,
    Update,
)
from .runs import Run, RunHistory
from .tracker import UNKNOWN, Component, StateKey, Tracker

DEFAULT_STATE = "on"
MAX_NAME_LENGTH = 64
# Readings beyond any household supply are meter faults, not power.
MAX_ABS_POWER_W = 1.0e6
# Timestamps outside 1970..2100 are clock faults; one far in the future would block every later reading.
MAX_T = 4_102_444_800.0
# Readings back a step's powers are given to (its switch to its confirmation): beyond the longest transition.
BACKFILL_ROWS = 2048
# Above this many running states, joint OFF options (two states ending together) are not searched.
MAX_JOINT_RUNNING = 12
# At sampling periods this coarse, an ON may be two appliances switching on within one sample.
JOINT_ON_PERIOD_S = 30.0
# Two loads end within one reading about as often as the reading is a share of the time between a house's
# switchings (minutes): a joint OFF's prior falls by log(this / period), not at all from 5-minute readings on.
# At 1 s, most joint OFFs were one load's OFF and a second event no load made (tracebase seed 1: 189 false
# detections, 129 with this prior).
SWITCH_INTERVAL_S = 300.0
# A labeled OFF within this share of a running state's power is that state's OFF alone.
OFF_MATCH_SHARE = 0.3
# A labeled rise below this share of what its appliance already runs at, of no state of its own, is a
# change of level (a PC leaving idle), not a new state; a labeled fall short of a running state's OFF
# (1 - OFF_MATCH_SHARE) is a level drop (a TV dimming): the state stays on at less power.
LEVEL_RISE_SHARE = 0.5
MAX_STATES_PER_APPLIANCE = 8
# Steps within this factor of a state's typical step belong to it when labeled.
STATE_RATIO = 1.8
# Log prior of an ON for a state that is already on.
ALREADY_ON_PRIOR = -2.0
# A running load's power may fall by this share during its run (an element warming up, a compressor
# settling); an OFF may then end it at its lower power, a little less likely than at the power its ON added.
DRIFT_SHARE = 0.15
DRIFT_PRIOR = -1.0
# An unknown load still on after this long is classified again among the states that run this long.
RECONSIDER_AFTER_S = 300.0
# A fall within this many seconds of a rise that returns at least this share of it ends an inrush.
INRUSH_S = 5.0
# From this reading period on, two loads often switch within one reading (a drum's pulse and a kettle).
MERGED_EDGE_PERIOD_S = 2.0
# Hidden pulse edges remembered for later labels (the events a label can still reach are far fewer).
MAX_HIDDEN_EDGES = 256
INRUSH_RETURN_SHARE = 0.5
# A multi-state appliance switched this recently is still in its run: an unclaimed ON may be a phase of it.
# Phases can lie 10-15 minutes apart (a dishwasher's heaters; a rinse whose drum pulses a coarse meter cannot see).
SESSION_S = 900.0
# A state that had this share of an ON's posterior may take over its run when the run outlasts the winner's.
# Low: a kettle's five labels of 1,998 W take 0.98 of a washer heater's 1,990 W step from the heater's two
# labels of 1,818-1,990 W, though the step alone cannot tell them apart (simulated houses 0.845 at 0.2, 0.850).
HANDOVER_MIN_P = 0.01
# A named run is judged again once it lasts this much longer than any run of its state so far (a kettle of
# 100-240 s, at 260 s a washer's 15-minute heater), before its timeout at 1.5 times that would end it.
OUTLAST_FACTOR = 1.1

type FloatArray = NDArray[np.float64]


class Edge(NamedTuple):
    """A pulse's edge found hidden in another step: its P and Q as they moved the mains.

    `shown_by` is the event that showed it: named another appliance, or ignored, it takes the edge back.
    """

    power_w: float
    reactive_var: float | None
    shown_by: str


@dataclass(slots=True)
class ApplianceRecord:
    """The engine's own record of an appliance."""

    id: str
    name: str
    states: list[str] = field(default_factory=lambda: [DEFAULT_STATE])
    confidence: float = 0.0
    last_event_id: str | None = None


@dataclass(slots=True)
class Learning:
    """Learn mode: events until `until` belong to this appliance."""

    appliance_id: str
    state: str | None
    until: float


class Engine:
    """Non-intrusive load monitoring of one meter: the API the integration and the tools drive."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        """Start empty: no appliance knowledge."""
        self.config = config or EngineConfig()
        self.zone = ZoneInfo(self.config.timezone)
        self.detector = Detector(self.config.event_threshold_w, self.config.gap_s)
        self.tracker = Tracker()
        self.ledger = Ledger()
        self.appliances: dict[str, ApplianceRecord] = {}
        self.signatures: dict[tuple[str, str], Signature] = {}
        self.event_log = EventLog(self.config.max_pending_events)
        # When each appliance last switched: within SESSION_S a multi-state appliance is still in its run.
        self.last_switch: dict[str, float] = {}
        self.event_seq = 0
        self.appliance_seq = 0
        self.learning: Learning | None = None
        self.baseload_w = 0.0
        # The mains of the last readings fed with `powers`: what a step confirmed later gives back powers for.
        self._recent_w: FloatArray = np.empty(0)
        # Falls found at the last reading of a call: they take effect once that reading's interval is counted,
        # which the next call does.
        self._later_falls: list[Fall] = []
        # The meter as of the last step (its noise and period), for classification: the same whether the
        # readings came one at a time or in a replay's large batches.
        self.noise_w = 0.0
        self.period_s = 1.0
        self.last_t: float | None = None
        self.mains_w: float | None = None
        self.dropped = 0
        self.last_event: Event | None = None
        self.gap_pending = False
        # Unknown loads already reconsidered (each is, once).
        self.reconsidered: set[str] = set()
        # Runs whose ON was judged again once they outlasted their state's labeled runs (each is, once; not
        # saved: after a restart the same labels judge the same run the same way).
        self.outrun_judged: set[str] = set()
        # Pulse edges found hidden in a step (P and Q as they moved the mains), by event: what a label of that
        # step, even much later, leaves out.
        self.hidden_edges: OrderedDict[str, Edge] = OrderedDict()
        # The runs OFF events ended, and the run lengths labels taught: evidence for a pulsing load's ONs.
        self.runs = RunHistory()

    # ----------------------------------------------------------------- feeding
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
                _add_revised(update, on)
                update.events.extend(shared)
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

    def _integrate_from_previous(self, t0: float) -> None:
        """Energy of the interval between the previous batch's last sample and this batch's first."""
        if self.last_t is None or self.mains_w is None or self.gap_pending:
            self.gap_pending = False
            return
        dt = t0 - self.last_t
        if dt > self.config.gap_s:
            return
        mains = np.array([self.mains_w])
        self._account(mains, np.array([dt]), self.tracker.shares(mains))

    def _integrate(
        self,
        t: FloatArray,
        p: FloatArray,
        start: int,
        stop: int,
        powers: dict[str, FloatArray] | None,
    ) -> None:
        """Energy of rows [start, stop) at the current on-powers (each row's power holds until the next row)."""
        if stop <= start:
            return
        mains = p[start:stop]
        share = self.tracker.shares(mains)
        if powers is not None:
            for appliance_id, (power, _state) in self.tracker.appliance_powers().items():
                column = powers.setdefault(appliance_id, np.zeros(t.size))
                if column.size != t.size:
                    continue
                column[start:stop] = power * share
        end = min(stop, t.size - 1)
        if end <= start:
            return
        dt = t[start + 1 : end + 1] - t[start:end]
        dt = np.where(dt > self.config.gap_s, 0.0, dt)
        if self.ledger.period_end is None or t[end] >= self.ledger.period_end:
            self._roll_period(t, start, end)
        self._account(mains[: end - start], dt, share[: end - start])

    def _integrate_span(
        self,
        t: FloatArray,
        p: FloatArray,
        start: int,
        stop: int,
        powers: dict[str, FloatArray] | None,
        update: Update,
    ) -> None:
        """Integrate rows [start, stop) between two events, stopping at each deadline inside them.

        A state times out, and an unknown load or a long run is reconsidered, at its own row, as if fed one
        sample at a time, not at the batch's next event.
        """
        while (deadline := self._next_deadline()) is not None:
            cut = int(np.searchsorted(t, deadline, side="right"))
            if cut >= stop:
                break
            cut = max(cut, start)
            self._integrate(t, p, start, cut, powers)
            self._recheck(float(t[cut]), None, 0.0)
            for event in self._reconsider(float(t[cut])):
                _add_revised(update, event)
            start = cut
        self._integrate(t, p, start, stop, powers)

    def _next_deadline(self) -> float | None:
        """When a state times out or a load is reconsidered next, if ever.

        An unknown load is reconsidered RECONSIDER_AFTER_S after its ON, a named run once it outlasts its
        state's labeled runs.
        """
        times = [
            load.since + RECONSIDER_AFTER_S
            for key, load in self.tracker.unknown.items()
            if key not in self.reconsidered
        ]
        times += [
            at
            for key, component in self.tracker.active.items()
            if (at := self._judged_again_at(key, component)) is not None
        ]
        expiry = self.tracker.next_expiry()
        if expiry is not None:
            times.append(expiry)
        return min(times, default=None)

    def _reconsider(self, t: float) -> list[Event]:
        """Name loads by how long they have run; returns the ON events that got a (new) name.

        Once a load has run RECONSIDER_AFTER_S, the states that never run this long are no longer
        candidates (a kettle for a washer's heater), and what was ambiguous at its ON (a TV among
        look-alikes that run for minutes) may now be clear. It switches on from its ON's time. A named run
        is judged again once it outlasts its state's labeled runs (`_hand_over`).
        """
        named: list[Event] = []
        for load_id, load in list(self.tracker.unknown.items()):
            elapsed = t - load.since
            if load_id in self.reconsidered or elapsed < RECONSIDER_AFTER_S:
                continue
            self.reconsidered.add(load_id)
            # Each weighed by its chance to run this long, from its labeled runs (as in `_hand_over`).
            options = [
                Option((sig,), prior=self.runs.survival(key, elapsed))
                for key, sig in self.signatures.items()
                if key not in self.tracker.active and self.tracker.limit_s(key) > elapsed
            ]
            decision = classify(load.power_w, load.reactive_var, options, self.noise_w)
            best = decision.best
            if best is None or decision.confidence < self.config.confidence_threshold:
                continue
            del self.tracker.unknown[load_id]
            event = self.event_log.find(load.event_id)
            if event is not None and event.status == "unidentified":
                event.status = "identified"
                event.confidence = decision.confidence
                event.candidates = decision.candidates
                self._apply(event, best)
                named.append(event)
            else:
                # Its ON is forgotten, or was named before it timed out: only the tracker learns the name.
                lead = best.lead
                self.tracker.switch_on(
                    lead.appliance_id, lead.state, load.power_w, load.since, load.event_id
                )
        named += self._hand_over(t)
        self.reconsidered &= set(self.tracker.unknown)
        self.outrun_judged &= {c.event_id for c in self.tracker.active.values()}
        if named:
            self.event_log.recount()
        return named

    def _hand_over(self, t: float) -> list[Event]:
        """Give a run that outlasted its state's labeled runs to a state of its size that runs that long.

        A toaster's ON is a coffee maker's pulse by its step alone; two minutes later, no pulse of the coffee
        maker ever ran so long and the toaster's runs did. Returns the ON events that changed appliance.
        """
        named: list[Event] = []
        for key, component in list(self.tracker.active.items()):
            at = self._judged_again_at(key, component)
            if at is None or t < at:
                continue
            self.outrun_judged.add(component.event_id)
            elapsed = t - component.since
            event = self.event_log.find(component.event_id)
            # Only a state the step alone could not tell from this one: run lengths do not outweigh sizes.
            candidates = [] if event is None else event.candidates
            rivals = {
                (a, s)
                for a, s, p in candidates
                if p >= HANDOVER_MIN_P and (a, s) in self.runs.labeled
            }
            options = [
                Option((signature,), prior=self.runs.survival(other, elapsed))
                for other, signature in self.signatures.items()
                if other == key or (other in rivals and other not in self.tracker.active)
            ]
            decision = classify(component.power_w, component.reactive_var, options, self.noise_w)
            best = decision.best
            if (
                best is None
                or (best.lead.appliance_id, best.lead.state) == key
                or decision.confidence < self.config.confidence_threshold
            ):
                continue
            lead = best.lead
            self.tracker.hand_over(key, (lead.appliance_id, lead.state))
            record = self.appliances[lead.appliance_id]
            record.confidence, record.last_event_id = decision.confidence, component.event_id
            self._switched(lead.appliance_id, t)
            if event is not None:
                event.appliance_id, event.state = lead.appliance_id, lead.state
                event.confidence, event.candidates = decision.confidence, decision.candidates
                named.append(event)
        return named

    def _judged_again_at(self, key: StateKey, component: Component) -> float | None:
        """When a named run has outlasted its state's runs, if it is still to be judged again.

        Outlasted: longer than its labeled runs say it may run, or than any of its runs so far.
        """
        outrun = self.runs.outrun_s(key)
        if outrun is None or component.held or component.event_id in self.outrun_judged:
            return None
        longest = self.tracker.longest_run_s.get(key)
        if longest is not None:
            outrun = min(outrun, OUTLAST_FACTOR * longest)
        return component.since + outrun

    def _roll_period(self, t: FloatArray, start: int, end: int) -> None:
        self.ledger.roll(float(t[start]), self.config.billing_day, self.zone)
        if self.ledger.period_end is not None and t[end] >= self.ledger.period_end:
            # A batch spanning a period boundary is rare (a replay); charge it to the period it starts in.
            self.ledger.roll(float(t[end]), self.config.billing_day, self.zone)

    def _account(self, mains: FloatArray, dt: FloatArray, share: FloatArray) -> None:
        price = self.config.price_per_kwh
        for appliance_id, (power, _state) in self.tracker.appliance_powers().items():
            self.ledger.add(appliance_id, power * float(np.dot(share, dt)), price)
        explained = self.tracker.total_w() * share
        unidentified = np.maximum(0.0, mains - self.baseload_w - explained)
        self.ledger.add_mains(
            float(np.dot(np.maximum(mains, 0.0), dt)), float(np.dot(unidentified, dt)), price
        )

    @property
    def hourly_minima(self) -> deque[tuple[int, float]]:
        """The lowest steady level of each of the last day's hours (the detector keeps them)."""
        return self.detector.hourly_minima

    # ----------------------------------------------------------------- events
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

    def _next_event_id(self) -> str:
        self.event_seq += 1
        return f"e{self.event_seq}"

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

    def _recheck(self, t: float, level_w: float | None, floor_w: float) -> None:
        # The floor is the lowest level of the last day up to t, not the baseload quantile: a house that ran
        # its heating all day has a high quantile, and a level below it would end appliances still on.
        floor_w = floor_w if math.isfinite(floor_w) else 0.0
        for component in self.tracker.recheck(t, level_w, floor_w):
            self._note_stale(component.appliance_id)
            # A state that timed out while the mains holds it is an unknown load: within a multi-state
            # appliance's run, as an unidentified ON would be, part of that run (a dishwasher's heater
            # taken for the kettle).
            load = self.tracker.unknown.get(component.event_id)
            if load is not None and load.owner is None:
                load.owner = self._session_owner(t)

    def _identify(self, event: Event) -> list[Event]:
        """Classify an event and switch what it says; returns further events when it split (a joint OFF)."""
        inrush = inrush_feature(event.dp, event.overshoot_w) if event.kind == "on" else None
        decision = classify(
            abs(event.dp), _dq_as_on(event), self._options(event), self.noise_w, inrush
        )
        best = decision.best
        if best is not None and best.lead.appliance_id == UNKNOWN:
            # The OFF of a load whose ON was not identified: it ends that load and stays unidentified.
            self._switch_off([(UNKNOWN, best.lead.state)], event)
            event.status = "unidentified"
            return []
        event.candidates = [c for c in decision.candidates if c[0] != UNKNOWN]
        event.confidence = decision.confidence
        if best is None or decision.confidence < self.config.confidence_threshold:
            if event.kind == "off" and self._hidden_on(event):
                return []
            event.status = "unidentified"
            if event.kind == "on":
                self.tracker.track_unknown(
                    event.dp, event.dq, event.t, event.id, self._session_owner(event.t)
                )
            return []
        event.status = "identified"
        if len({sig.appliance_id for sig in best.signatures}) > 1:
            return self._split(event, best)
        self._apply(event, best)
        return []

    def _session_owner(self, t: float) -> str | None:
        """The appliance an unidentified ON is most likely part of, if one stands out.

        A multi-state appliance in its run (a state on, or one switched in the last SESSION_S) goes
        through phases the user may not have labeled (a washer's spin after its labeled heater and drum);
        when it is the only one running, an ON no signature claims is taken as one of them.
        """
        recent = {c.appliance_id for c in self.tracker.active.values()}
        recent |= {a for a, last in self.last_switch.items() if t - last <= SESSION_S}
        learned = Counter(appliance_id for appliance_id, _ in self.signatures)
        owners = [a for a in recent if learned[a] > 1]
        return owners[0] if len(owners) == 1 else None

    def _options(self, event: Event) -> list[Option]:
        """What may explain an event: any state for an ON; for an OFF, what is on (alone or in pairs)."""
        if event.kind == "on":
            # A state already on switching on again means its OFF was missed: possible, not likely. A run
            # of this size that just ended is likely this load pulsing: its length says whose it was.
            previous = self.runs.previous(event.t, abs(event.dp))
            states = list(self.signatures.items())
            near = admitted([sig for _, sig in states], abs(event.dp), self.noise_w)
            options = [
                Option(
                    (sig,),
                    prior=(ALREADY_ON_PRIOR if key in self.tracker.active else 0.0)
                    + (0.0 if previous is None else self.runs.fit(key, previous)),
                )
                for key, sig in (states[k] for k in near)
            ]
            if self.period_s >= JOINT_ON_PERIOD_S:
                # A sample that averages a minute often holds two appliances switching on.
                off = [
                    sig for key, sig in self.signatures.items() if key not in self.tracker.active
                ]
                options += [
                    Option(pair) for pair in joint_candidates(off, abs(event.dp), self.noise_w)
                ]
            return options
        running = [
            (self.signatures[key], component.power_w)
            for key, component in self.tracker.active.items()
            if key in self.signatures
        ]
        options = [Option((sig,), power) for sig, power in running]
        # The mains held less than what runs, just before this OFF: one of them may have drifted down.
        excess = self.tracker.total_w() + self.baseload_w - (event.level_w - event.dp)
        if excess > 0:
            options += [
                Option((sig,), max(power - excess, (1.0 - DRIFT_SHARE) * power), DRIFT_PRIOR)
                for sig, power in running
            ]
        if len(running) <= MAX_JOINT_RUNNING:
            rare = -max(0.0, math.log(SWITCH_INTERVAL_S / self.period_s))
            options += [
                Option((a[0], b[0]), a[1] + b[1], rare) for a, b in combinations(running, 2)
            ]
        # A load switched on by an unidentified ON, seen as a signature of that one step.
        options += [
            Option(
                (Signature.of_step(UNKNOWN, load.state, load.power_w, load.reactive_var),),
                load.power_w,
            )
            for load in self.tracker.unknown.values()
        ]
        return options

    def _apply(self, event: Event, option: Option) -> None:
        """Switch the tracker as an identified event says."""
        lead = option.lead
        event.appliance_id, event.state = lead.appliance_id, lead.state
        if event.kind == "on":
            running = self.tracker.active.get((lead.appliance_id, lead.state))
            if running is not None:
                self._missed_off(running, lead, event)
            self.tracker.switch_on(lead.appliance_id, lead.state, event.dp, event.t, event.id)
        else:
            self._switch_off([(sig.appliance_id, sig.state) for sig in option.signatures], event)
        record = self.appliances[lead.appliance_id]
        record.confidence = event.confidence
        record.last_event_id = event.id
        self._switched(lead.appliance_id, event.t)

    def _missed_off(self, running: Component, signature: Signature, on: Event) -> None:
        """A state switching on while on: its OFF hid in the one step since its ON.

        From a few seconds per reading, a pulsing load's edge often falls in the reading where another
        appliance switched: a kettle's +2,000 W read as +1,830 beside a drum's -170. That step without the
        pulse is the other appliance's own: what its label teaches and what its running state added.
        """
        if self.period_s < MERGED_EDGE_PERIOD_S or running.since >= on.t:
            return
        merged = self._only_step_between(running.since, on.t)
        if merged is not None:
            self._give_back(merged, _edge(-running.power_w, signature, on.id))

    def _hidden_on(self, off: Event) -> bool:
        """An OFF no running state explains, of a state that is off: its ON hid in the one step since.

        The mirror of `_missed_off`: a drum's next ON read in the reading of a kettle's OFF (-1,830 for
        -2,000), then the drum's OFF with nothing of its size on. Unlike a missed OFF, nothing shows that
        the state ran, so the step less the pulse must also fit its own labels better than the step as read.
        True if the OFF was explained so.
        """
        if self.period_s < MERGED_EDGE_PERIOD_S:
            return False
        magnitude, dq = abs(off.dp), _dq_as_on(off)
        found: list[tuple[float, StateKey, Event, Edge]] = []
        last_offs = self.tracker.last_offs()
        for key, signature in self.signatures.items():
            last = None if key in self.tracker.active else last_offs.get(key)
            previous = None if last is None else self.event_log.find(last)
            if previous is None or (fit := signature.match(magnitude, dq, self.noise_w)) is None:
                continue
            merged = self._only_step_between(previous.t, off.t)
            if merged is None:
                continue
            edge = _edge(signature.power(), signature, off.id)
            if self._fits_better(merged, edge):
                found.append((fit[0] + math.log(signature.count + 1.0), key, merged, edge))
        if not found:
            return False
        _, key, merged, edge = max(found, key=lambda f: f[0])
        decision = classify(magnitude, dq, [Option((self.signatures[key],))], self.noise_w)
        if decision.confidence < self.config.confidence_threshold:
            return False
        self._give_back(merged, edge)
        off.status, off.appliance_id, off.state = "identified", key[0], key[1]
        off.confidence, off.candidates = decision.confidence, decision.candidates
        self._switched(key[0], off.t)
        return True

    def _fits_better(self, merged: Event, edge: Edge) -> bool:
        """Whether a step less a pulse edge fits its own state's labels better than the step as read."""
        own = self.signatures.get((merged.appliance_id or "", merged.state or ""))
        if own is None:
            return False
        as_read = own.match(abs(merged.dp), _dq_as_on(merged), self.noise_w)
        dp, dq = _less(merged.dp, merged.dq, edge)
        corrected = own.match(abs(dp), _reactive_as_on(dp, dq), self.noise_w)
        return corrected is not None and (as_read is None or corrected[0] > as_read[0])

    def _only_step_between(self, start: float, end: float) -> Event | None:
        """The one named event strictly between two times, if exactly one event lies there."""
        between = [e for e in self.event_log.since(start) if e.t < end]
        if len(between) != 1 or between[0].appliance_id is None or between[0].state is None:
            return None
        return between[0]

    def _give_back(self, merged: Event, edge: Edge) -> None:
        """A step that held a pulse's edge: remember the edge, then take the step without it."""
        self.hidden_edges[merged.id] = edge
        while len(self.hidden_edges) > MAX_HIDDEN_EDGES:
            self.hidden_edges.popitem(last=False)
        self._own_step_changed(merged)

    def _take_back_edges(self, shown_by: Event) -> None:
        """The event that showed hidden edges was not that pulse: the steps they hid in are whole again."""
        for merged_id in [
            m for m, edge in self.hidden_edges.items() if edge.shown_by == shown_by.id
        ]:
            del self.hidden_edges[merged_id]
            merged = self.event_log.find(merged_id)
            if merged is not None:
                self._own_step_changed(merged)

    def _own_step_changed(self, merged: Event) -> None:
        """Relearn a labeled step and fix the state it switched on, as its own step now reads."""
        key = (merged.appliance_id or "", merged.state or "")
        learned = self.signatures.get(key)
        if (
            merged.status == "labeled"
            and learned is not None
            and any(e.event_id == merged.id for e in learned.entries)
        ):
            self._learn(self.appliances[key[0]], key[1], merged)
        own_dp = self._own_step(merged)[0]
        component = self.tracker.active.get(key)
        if component is not None and component.event_id == merged.id and own_dp > 0:
            component.power_w = own_dp

    def _own_step(self, event: Event) -> tuple[float, float | None]:
        """An event's step (P, Q) less a pulse edge found hidden in it."""
        edge = self.hidden_edges.get(event.id)
        return (event.dp, event.dq) if edge is None else _less(event.dp, event.dq, edge)

    def _switched(self, appliance_id: str, t: float) -> None:
        """Note a switch of an appliance, identified or labeled: it keeps a multi-state one in its run."""
        self.last_switch[appliance_id] = max(t, self.last_switch.get(appliance_id, t))

    def _split(self, event: Event, option: Option) -> list[Event]:
        """Appliances switching within one step: one event each; returns the events added.

        An OFF's step is shared as the appliances' ONs added, an ON's as their typical steps. Each
        appliance gets its own event (its binary sensor, its automation trigger), and relabeling one part
        changes only that appliance.
        """
        by_appliance: dict[str, list[tuple[Signature, float]]] = {}
        for sig in option.signatures:
            if event.kind == "on":
                power = sig.power()
            else:
                power = self.tracker.active[(sig.appliance_id, sig.state)].power_w
            by_appliance.setdefault(sig.appliance_id, []).append((sig, power))
        shares = sorted(by_appliance.values(), key=lambda part: -sum(p for _, p in part))
        total = sum(power for part in shares for _, power in part)
        step_dp, step_dq, step_di = event.dp, event.dq, event.di
        parts: list[Event] = []
        for states in shares:
            share = sum(power for _, power in states) / total
            part = event if not parts else replace(event, id=self._next_event_id())
            part.dp = step_dp * share
            part.dq = None if step_dq is None else step_dq * share
            part.di = None if step_di is None else step_di * share
            part.candidates = list(event.candidates)
            parts.append(part)
            self._apply(part, Option(tuple(sig for sig, _ in states)))
        return parts[1:]

    def _note_stale(self, appliance_id: str) -> None:
        record = self.appliances.get(appliance_id)
        if record is not None:
            record.confidence = 0.0

    # ----------------------------------------------------------------- labels
    def label_event(self, event_id: str, appliance: str, state: str | None = None) -> Appliance:
        """The user's word on an event: it is this appliance (existing id or name, or a new name)."""
        event = self.event_log.get(event_id)
        record = self._resolve_or_create(appliance)
        if state is not None:
            state = _valid_name(state)
        self._apply_label(event, record.id, state)
        return self._view(record)

    def _apply_label(self, event: Event, appliance_id: str, state: str | None) -> None:
        record = self.appliances[appliance_id]
        if event.appliance_id != appliance_id:
            self._take_back_edges(event)
        self._unlearn(event)
        # Whatever an earlier identification of this event switched is taken back first.
        self._undo(event.id)
        event.status = "labeled"
        event.appliance_id = record.id
        event.confidence = 1.0
        record.confidence = 1.0
        record.last_event_id = event.id
        self._switched(record.id, event.t)
        if event.kind == "on":
            self._label_on(event, record, state)
        else:
            self._label_off(event, record, state)
        self.event_log.recount()

    def _label_on(self, event: Event, record: ApplianceRecord, state: str | None) -> None:
        magnitude = abs(self._own_step(event)[0])
        if state is None and self._level_rise(event, record, magnitude):
            return
        state = state or self._state_for(record, magnitude)
        event.state = state
        signature = self._learn(record, state, event)
        if self._end_as_before(event, record.id, state):
            return
        # The appliance may have gone off since: the first later unexplained OFF of this size is its OFF.
        for later in self.event_log.after(event):
            if later.kind == "on" and later.appliance_id == record.id:
                return
            if later.kind == "off" and later.status == "unidentified":
                decision = classify(
                    abs(later.dp),
                    _dq_as_on(later),
                    [Option((signature,), magnitude)],
                    self.noise_w,
                )
                if decision.confidence >= self.config.confidence_threshold:
                    later.status = "identified"
                    later.appliance_id, later.state = record.id, state
                    later.confidence = decision.confidence
                    later.candidates = decision.candidates
                    self._switched(record.id, later.t)
                    self.runs.learn((record.id, state), later.id, later.t - event.t)
                    return
        self.tracker.switch_on(record.id, state, magnitude, event.t, event.id, held=True)

    def _end_as_before(self, on: Event, appliance_id: str, state: str) -> bool:
        """A labeled ON whose run an OFF already ended (as whatever the engine took the ON for) ends there.

        The user confirming or correcting an ON after its OFF moves that run, OFF included, to the named
        appliance, instead of switching it on again. False if no remembered OFF ended its run.
        """
        ended = self.tracker.closed_with(on.id)
        off = None if ended is None else self.event_log.find(ended[0])
        if ended is None or off is None:
            return False
        if off.status == "labeled" and off.appliance_id != appliance_id:
            return False
        # Reopen what the OFF ended, less the ON's old run, and end it again with this appliance's.
        self._undo(off.id)
        self.tracker.undo(on.id)
        if off.status != "labeled":
            off.appliance_id, off.state, off.status = appliance_id, state, "identified"
        # The appliance may be on again since (the element's next pulse): that run stays.
        key = (appliance_id, state)
        later = self.tracker.active.pop(key, None)
        self.tracker.switch_on(appliance_id, state, abs(on.dp), on.t, on.id)
        self._switch_off([key, *ended[1]], off)
        if later is not None and later.since > off.t:
            self.tracker.active[key] = later
        self._switched(appliance_id, off.t)
        return True

    def _level_rise(self, event: Event, record: ApplianceRecord, magnitude: float) -> bool:
        """A labeled rise that only raises the level of the appliance's running state; true if it was."""
        running = self.tracker.running(record.id, event.t)
        if not running or magnitude >= LEVEL_RISE_SHARE * sum(c.power_w for c in running):
            return False
        guess = self._state_for(record, magnitude)
        if (record.id, guess) in self.signatures and (record.id, guess) not in self.tracker.active:
            # A known state of its own that is off (a washer's drum while its heater runs): a real ON.
            return False
        component = max(running, key=lambda c: c.power_w)
        event.state = component.state
        self.tracker.adjust((record.id, component.state), magnitude, event.id)
        return True

    def _label_off(self, event: Event, record: ApplianceRecord, state: str | None) -> None:
        """An OFF ends the appliance's state whose ON added about this power; a larger step ends more."""
        magnitude = abs(self._own_step(event)[0])
        running = self.tracker.running(record.id, event.t)
        if not running and self._reopen(event, record.id, magnitude):
            running = self.tracker.running(record.id, event.t)
        if state is not None:
            running = [c for c in running if c.state == state]
        if not running:
            event.state = state or self._state_for(record, magnitude)
            self._learn(record, event.state, event)
            return
        component = min(running, key=lambda c: abs(c.power_w - magnitude))
        event.state = component.state
        if magnitude < (1.0 - OFF_MATCH_SHARE) * component.power_w:
            self.tracker.adjust((record.id, component.state), -magnitude, event.id)
            return
        keys = [(record.id, component.state)]
        if abs(magnitude - component.power_w) <= OFF_MATCH_SHARE * component.power_w:
            self._learn(record, component.state, event)
        else:
            # The step is not this state's alone: the rest is whatever else was on and matches it.
            rest = self._explain_rest(event, magnitude - component.power_w, record.id)
            keys += rest
            if not rest and self.period_s < MERGED_EDGE_PERIOD_S:
                # Nothing else on explains the rest: the appliance ran at more than the engine saw (on
                # before the readings began, its rise taken for a smaller step), and the OFF is its full
                # step. From 2 s readings the rest is as likely another load switching in the same reading.
                event.state = self._state_for(record, magnitude)
                self._learn(record, event.state, event)
        self._switch_off(keys, event)

    def _reopen(self, off: Event, appliance_id: str, magnitude: float) -> bool:
        """A labeled OFF of an appliance the engine had ended: the OFF that ended it was another load's.

        The user saying it went off now says it ran until now, so the engine's own OFF for it since its
        last switch (a fridge's OFF read as the TV's a minute into a TV evening) ends nothing of it; that
        OFF is unidentified again, and this label ends the whole run and teaches its length (else the TV's
        timeout would stay that minute). True if a run was reopened.
        """
        found = self.tracker.last_closed(appliance_id)
        earlier = None if found is None else self.event_log.find(found[0])
        if found is None or earlier is None or len(found[1]) != 1:
            return False
        component = found[1][0]
        if (
            earlier.status != "identified"
            or earlier.t >= off.t
            or abs(magnitude - component.power_w) > OFF_MATCH_SHARE * component.power_w
            or any(
                e.appliance_id == appliance_id and e.t < off.t
                for e in self.event_log.after(earlier)
            )
        ):
            return False
        self._undo(earlier.id)
        earlier.status, earlier.appliance_id, earlier.state, earlier.confidence = (
            "unidentified",
            None,
            None,
            0.0,
        )
        earlier.candidates = [c for c in earlier.candidates if c[0] != appliance_id]
        return True

    def _switch_off(self, keys: list[StateKey], event: Event) -> None:
        """An OFF ends these states or loads; each run it ends is remembered, and taught if a label names it."""
        for component in self.tracker.switch_off(
            keys, event.t, event.id, confirmed=event.status == "labeled"
        ):
            run = event.t - component.since
            self.runs.record(Run(event.id, event.t, component.power_w, run))
            if _teaches_run(self.event_log.find(component.event_id), event, component.appliance_id):
                self.runs.learn((component.appliance_id, component.state), event.id, run)

    def _undo(self, event_id: str) -> None:
        """Take back what an event switched, and the runs it ended."""
        self.tracker.undo(event_id)
        self.runs.undo(event_id)

    def _explain_rest(
        self, event: Event, rest_w: float, appliance_id: str
    ) -> list[tuple[str, str]]:
        options = [
            Option((self.signatures[key],), component.power_w)
            for key, component in self.tracker.active.items()
            if key in self.signatures and key[0] != appliance_id and component.since < event.t
        ]
        decision = classify(abs(rest_w), None, options, self.noise_w)
        best = decision.best
        if best is None or rest_w <= 0 or decision.confidence < self.config.confidence_threshold:
            return []
        return [(s.appliance_id, s.state) for s in best.signatures]

    def _learn(self, record: ApplianceRecord, state: str, event: Event) -> Signature:
        if state not in record.states:
            record.states.append(state)
        signature = self.signatures.setdefault((record.id, state), Signature(record.id, state))
        dp, dq = self._own_step(event)
        signature.add(event.id, dp, dq, self.config.max_labeled_per_signature, event.overshoot_w)
        return signature

    def _unlearn(self, event: Event) -> None:
        if event.status == "labeled" and event.appliance_id is not None and event.state is not None:
            signature = self.signatures.get((event.appliance_id, event.state))
            if signature is not None and signature.remove(event.id) and not signature.entries:
                del self.signatures[(event.appliance_id, event.state)]

    def _state_for(self, record: ApplianceRecord, magnitude: float) -> str:
        """The state a step of this size belongs to: the closest known one, or a new level.

        Real appliances vary between uses (a freezer starts warm or cold), so a step within a factor
        of STATE_RATIO of a known state is that state; a clearly different size (a washer's heater against
        its drum) is a new level. Not the state's spread: each label that joins a state widens it, and a
        wide state took every later level (a coffee maker's 1,140 W heater, its staged OFF and its 325 W
        keep-warm pulses became one state that matched any step between them).
        """
        known = [sig for key, sig in self.signatures.items() if key[0] == record.id]
        if not known:
            return record.states[0]
        closest = min(
            known, key=lambda sig: abs(math.log(max(sig.power(), 1.0) / max(magnitude, 1.0)))
        )
        ratio = max(closest.power(), magnitude) / max(min(closest.power(), magnitude), 1.0)
        if ratio <= STATE_RATIO or len(known) >= MAX_STATES_PER_APPLIANCE:
            return closest.state
        number = len(record.states) + 1
        while f"{DEFAULT_STATE} {number}" in record.states:
            number += 1
        return f"{DEFAULT_STATE} {number}"

    def label_group(self, group_id: str, appliance: str, state: str | None = None) -> int:
        """Label every event of a group of similar unidentified events; returns how many."""
        group = next((g for g in self.groups() if g.id == group_id), None)
        if group is None:
            raise UnknownGroupError(f"no group {group_id!r}")
        for event_id in group.event_ids:
            self.label_event(event_id, appliance, state)
        return group.count

    def ignore_event(self, event_id: str) -> None:
        """The user says this event is nothing to learn from."""
        event = self.event_log.get(event_id)
        self._take_back_edges(event)
        self._unlearn(event)
        was_label = event.status == "labeled"
        event.status = "ignored"
        if was_label:
            self._unteach_runs(event)
        self.event_log.recount()

    def _unteach_runs(self, ignored: Event) -> None:
        """A label taken back: each run it began or ended teaches only if its other end still does."""
        runs: list[tuple[Event | None, Event, str, str | None]]
        if ignored.kind == "on":
            found = self.tracker.closed_with(ignored.id)
            off = None if found is None else self.event_log.find(found[0])
            runs = (
                [] if off is None else [(ignored, off, ignored.appliance_id or "", ignored.state)]
            )
        else:
            runs = [
                (self.event_log.find(c.event_id), ignored, c.appliance_id, c.state)
                for c in self.tracker.closed_by(ignored.id)
            ]
        for on, off, appliance_id, state in runs:
            if not _teaches_run(on, off, appliance_id):
                self.runs.unteach(off.id, (appliance_id, state or ""))

    def start_learning(
        self,
        appliance: str,
        state: str | None = None,
        duration_s: float = 120.0,
        now: float | None = None,
    ) -> Appliance:
        """Learn mode: the next events within duration_s belong to this appliance."""
        record = self._resolve_or_create(appliance)
        start = now if now is not None else (self.last_t or 0.0)
        self.learning = Learning(
            record.id, None if state is None else _valid_name(state), start + duration_s
        )
        return self._view(record)

    # ----------------------------------------------------------------- appliances
    def create_appliance(self, name: str) -> Appliance:
        """A new appliance with no signature yet."""
        name = _valid_name(name)
        if self._find(name) is not None:
            raise InvalidNameError(f"an appliance named {name!r} exists")
        self.appliance_seq += 1
        record = ApplianceRecord(id=f"{self.appliance_seq:06x}", name=name)
        self.appliances[record.id] = record
        return self._view(record)

    def rename_appliance(self, appliance_id: str, name: str) -> Appliance:
        """Give an appliance another name."""
        record = self._record(appliance_id)
        name = _valid_name(name)
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

    # ----------------------------------------------------------------- state
    def to_dict(self) -> dict[str, Any]:
        """Versioned, JSON-able state: appliances, signatures, events, counters."""
        from .serialize import to_dict  # serialize builds on this module

        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], config: EngineConfig | None = None) -> Self:
        """Restore state written by to_dict; raises StateError when it cannot."""
        from .serialize import from_dict  # serialize builds on this module

        return from_dict(data, config, cls)

    # ----------------------------------------------------------------- views
    def events(self, kind: str = "pending") -> list[Event]:
        """Stored events: pending (unidentified), labeled, or all; newest first."""
        return self.event_log.select(kind)

    def groups(self) -> list[EventGroup]:
        """Similar unidentified events, largest groups first."""
        return group_events(self.event_log)

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

    def _share_now(self) -> float:
        """The factor that keeps the appliances' powers within the latest mains reading."""
        if self.mains_w is None:
            return 1.0
        return float(self.tracker.shares(np.array([self.mains_w]))[0])

    def _view(
        self,
        record: ApplianceRecord,
        powers: dict[str, tuple[float, str]] | None = None,
        share: float | None = None,
    ) -> Appliance:
        powers = self.tracker.appliance_powers() if powers is None else powers
        share = self._share_now() if share is None else share
        power, state = powers.get(record.id, (0.0, None))
        return Appliance(
            id=record.id,
            name=record.name,
            states=list(record.states),
            on=record.id in powers,
            state=state,
            power_w=power * share,
            energy_kwh=self.ledger.energy_kwh.get(record.id, 0.0),
            cost=self.ledger.period_cost.get(record.id, 0.0),
            confidence=record.confidence,
            last_event_id=record.last_event_id,
        )

    # ----------------------------------------------------------------- lookups
    def _record(self, appliance_id: str) -> ApplianceRecord:
        record = self.appliances.get(appliance_id)
        if record is None:
            raise UnknownApplianceError(f"no appliance {appliance_id!r}")
        return record

    def _find(self, ref: str) -> ApplianceRecord | None:
        if ref in self.appliances:
            return self.appliances[ref]
        folded = ref.strip().casefold()
        return next((r for r in self.appliances.values() if r.name.casefold() == folded), None)

    def _resolve_or_create(self, ref: str) -> ApplianceRecord:
        record = self._find(ref)
        if record is None:
            record = self.appliances[self.create_appliance(ref).id]
        return record


def _add_revised(update: Update, event: Event) -> None:
    """Report an event an earlier call reported, changed; once, and not if this call reports it anyway."""
    if not any(e is event for e in (*update.events, *update.revised)):
        update.revised.append(event)


def _valid_name(name: str) -> str:
    cleaned = " ".join(str(name).split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"a name must have 1 to {MAX_NAME_LENGTH} characters")
    return cleaned


def _teaches_run(on: Event | None, off: Event, appliance_id: str) -> bool:
    """Whether a run's length is the user's word: its ON is labeled, or its OFF as this appliance."""
    return (off.status == "labeled" and off.appliance_id == appliance_id) or (
        on is not None and on.status == "labeled"
    )


def _dq_as_on(event: Event) -> float | None:
    """The event's reactive step as it would be for the ON (OFF steps negated)."""
    return _reactive_as_on(event.dp, event.dq)


def _reactive_as_on(dp: float, dq: float | None) -> float | None:
    """A step's reactive change as it would be for the ON (OFF steps negated)."""
    if dq is None:
        return None
    return dq if dp >= 0 else -dq


def _edge(pulse_w: float, pulse: Signature, shown_by: str) -> Edge:
    """A pulse's edge of `pulse_w` (signed as it moved the mains) with its typical reactive part."""
    reactive = pulse.profile().reactive
    return Edge(
        pulse_w, None if reactive is None else math.copysign(reactive.centre, pulse_w), shown_by
    )


def _less(dp: float, dq: float | None, edge: Edge) -> tuple[float, float | None]:
    """A step (P, Q) without a pulse edge that moved the mains in the same reading."""
    dq_less = None if dq is None or edge.reactive_var is None else dq - edge.reactive_var
    return dp - edge.power_w, dq_less


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
