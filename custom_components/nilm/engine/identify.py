"""Identification of events: what may explain each step, and switching what the classifier chose."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from itertools import combinations
import math

from .classifier import (
    Option,
    Pairs,
    Signature,
    admitted,
    classify,
    inrush_feature,
    joint_candidates,
)
from .edges import HiddenEdges, appliance_candidates
from .model import Event
from .state import dq_as_on
from .tracker import UNKNOWN, no_room

# Above this many running states, joint OFF options (two states ending together) are not searched.
MAX_JOINT_RUNNING = 12
# At sampling periods this coarse, an ON may be two appliances switching on within one sample.
JOINT_ON_PERIOD_S = 30.0
# Two loads end within one reading about as often as the reading is a share of the time between a house's
# switchings (minutes): a joint OFF's prior falls by log(this / period), not at all from 5-minute readings on.
# At 1 s, most joint OFFs were one load's OFF and a second event no load made (tracebase seed 1: 189 false
# detections, 129 with this prior).
SWITCH_INTERVAL_S = 300.0
# Up to this period, an OFF that no running state explains alone is likelier the OFF of a load the tracker does
# not follow (a washer's drum whose ON was lost among other loads' switching) than two loads ending within one
# reading: a joint OFF is taken only where the mains after it has no room left for the larger of the two. On
# tracebase seed 1, 70 joint OFFs in the test period, nearly all a drum's OFF ending a TV and a fridge together; seeds
# 1-16 0.461 -> 0.473, event F1 0.947 -> 0.951. A kettle and a vacuum ending in one reading (lab_1hz_pq), after
# which the mains holds neither, still end together.
JOINT_OFF_EVIDENCE_PERIOD_S = 2.0
# Log prior of an ON for a state that is already on.
ALREADY_ON_PRIOR = -2.0
# A running load's power may fall by this share during its run (an element warming up, a compressor
# settling); an OFF may then end it at its lower power, a little less likely than at the power its ON added.
DRIFT_SHARE = 0.15
DRIFT_PRIOR = -1.0
# A multi-state appliance switched this recently is still in its run: an unclaimed ON may be a phase of it.
# Phases can lie 10-15 minutes apart (a dishwasher's heaters; a rinse whose drum pulses a coarse meter cannot see).
SESSION_S = 900.0


def sole(appliances: set[str]) -> str | None:
    """The one appliance of a set, None if there are none or several."""
    return next(iter(appliances)) if len(appliances) == 1 else None


class Identification(HiddenEdges):
    """Names each step (a state, states switching together, or unidentified) and switches the tracker."""

    def _identify(self, event: Event) -> list[Event]:
        """Classify an event and switch what it says; returns further events when it split (a joint OFF)."""
        inrush = inrush_feature(event.dp, event.overshoot_w) if event.kind == "on" else None
        options, pairs = self._options(event)
        decision = classify(abs(event.dp), dq_as_on(event), options, self.noise_w, inrush, pairs)
        best = decision.best
        if best is not None and best.lead.appliance_id == UNKNOWN:
            # The OFF of a load whose ON was not identified: it ends that load and stays unidentified.
            self._switch_off([(UNKNOWN, best.lead.state)], event)
            event.status = "unidentified"
            return []
        event.candidates = appliance_candidates(decision)
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
        return sole(self._in_their_runs(t))

    def _in_their_runs(self, t: float) -> set[str]:
        """The multi-state appliances in their run at t: a state on, or one switched in the last SESSION_S."""
        recent = {c.appliance_id for c in self.tracker.active.values()}
        recent |= {a for a, last in self.last_switch.items() if t - last <= SESSION_S}
        learned = Counter(appliance_id for appliance_id, _ in self.signatures)
        return {a for a in recent if learned[a] > 1}

    def _options(self, event: Event) -> tuple[list[Option], Pairs | None]:
        """What may explain an event: any state for an ON; for an OFF, what is on (alone or in pairs).

        Pairs of states that were off switching on together come apart from the options, as index arrays.
        """
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
            if self.period_s < JOINT_ON_PERIOD_S:
                return options, None
            # A sample that averages a minute often holds two appliances switching on.
            off = [sig for key, sig in self.signatures.items() if key not in self.tracker.active]
            return options, joint_candidates(off, abs(event.dp), self.noise_w)
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
                Option((a[0], b[0]), a[1] + b[1], rare)
                for a, b in combinations(running, 2)
                if self.period_s > JOINT_OFF_EVIDENCE_PERIOD_S
                or no_room(max(a[1], b[1]), event.level_w, self.baseload_w)
            ]
        # A load switched on by an unidentified ON, seen as a signature of that one step.
        options += [
            Option(
                (Signature.of_step(UNKNOWN, load.state, load.power_w, load.reactive_var),),
                load.power_w,
            )
            for load in self.tracker.unknown.values()
        ]
        return options, None

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
