"""Pulse edges hidden in another step: a pulsing load switching in the same reading as another appliance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
import math
from typing import TYPE_CHECKING, NamedTuple

from .classifier import Decision, Option, Pairs, Signature, classify, inrush_feature
from .features import step_power_factor
from .model import Candidate, Event
from .state import Edge, EngineState, dq_as_on, reactive_as_on, without_edge
from .tracker import UNKNOWN, Component, StateKey

# From this reading period on, two loads often switch within one reading (a drum's pulse and a kettle).
MERGED_EDGE_PERIOD_S = 2.0
# Hidden pulse edges remembered for later labels (the events a label can still reach are far fewer).
MAX_HIDDEN_EDGES = 256
# What is left of an unidentified step without a pulse's edge carries the noise of two steps: it is named
# only when one state clearly explains it (simulated houses at 3-4 s 0.825 -> 0.848 at 0.7 and at the
# confidence threshold of 0.4 alike; tracebase at 4 s +0.000 at 0.7, -0.002 at 0.4).
REST_CONFIDENCE = 0.7


class Rest(NamedTuple):
    """An unidentified step, and the switching it is without a pulse's edge hidden in it."""

    step: Event
    switching: Event
    option: Option
    decision: Decision


class HiddenEdges(EngineState):
    """Finds a pulse's edge hidden in the one step since its last one; that step keeps its own size.

    A step nothing explained may be a pulse's edge and another load's switching in one reading (a drum's
    OFF and a lamp's ON read -80 W): without the edge, it is named as that switching.
    """

    if TYPE_CHECKING:
        # The identification's (it knows what may explain an event, and switches the tracker).
        def _options(self, event: Event) -> tuple[list[Option], Pairs | None]: ...
        def _apply(self, event: Event, option: Option) -> None: ...

    def _missed_off(self, running: Component, signature: Signature, on: Event) -> None:
        """A state switching on while on: its OFF hid in the one step since its ON.

        From a few seconds per reading, a pulsing load's edge often falls in the reading where another
        appliance switched: a kettle's +2,000 W read as +1,830 beside a drum's -170. That step without the
        pulse is the other appliance's own: what its label teaches and what its running state added.
        """
        if self.period_s < MERGED_EDGE_PERIOD_S or running.since >= on.t:
            return
        edge = _edge(-running.power_w, signature, on.id)
        merged = self._lone_step_between(running.since, on.t)
        if merged is None:
            return
        if _named(merged):
            self._give_back(merged, edge)
        elif (rest := self._rest_of(merged, edge)) is not None:
            self._take_rest(rest)

    def _hidden_on(self, off: Event) -> bool:
        """An OFF no running state explains, of a state that is off: its ON hid in the one step since.

        The mirror of `_missed_off`: a drum's next ON read in the reading of a kettle's OFF (-1,830 for
        -2,000), then the drum's OFF with nothing of its size on. Unlike a missed OFF, nothing shows that
        the state ran, so the step less the pulse must also fit its own labels better than the step as read
        (an unidentified step: be clearly another switching). True if the OFF was explained so.
        """
        if self.period_s < MERGED_EDGE_PERIOD_S:
            return False
        magnitude, dq = abs(off.dp), dq_as_on(off)
        # Each candidate: its score, its state, the one step since its last OFF, and its ON's edge.
        found: list[tuple[float, StateKey, Event, Edge]] = []
        last_offs = self.tracker.last_offs()
        for key, signature in self.signatures.items():
            last = None if key in self.tracker.active else last_offs.get(key)
            previous = None if last is None else self.event_log.find(last)
            if previous is None or (fit := signature.match(magnitude, dq, self.noise_w)) is None:
                continue
            merged = self._lone_step_between(previous.t, off.t)
            if merged is not None:
                edge = _edge(signature.power(), signature, off.id)
                found.append((fit[0] + math.log(signature.count + 1.0), key, merged, edge))
        # The best candidate whose step can hold its ON (a stable sort: equal scores in signature order); a
        # rest is classified only for the candidates tried.
        tried = (
            (key, self._giving_back(merged, edge))
            for _, key, merged, edge in sorted(found, key=lambda f: -f[0])
        )
        chosen = next(((key, action) for key, action in tried if action is not None), None)
        if chosen is None:
            return False
        key, give_back = chosen
        decision = classify(magnitude, dq, [Option((self.signatures[key],))], self.noise_w)
        if decision.confidence < self.config.confidence_threshold:
            return False
        give_back()
        off.status, off.appliance_id, off.state = "identified", key[0], key[1]
        off.confidence, off.candidates = decision.confidence, decision.candidates
        self._switched(key[0], off.t)
        return True

    def _fits_better(self, merged: Event, edge: Edge) -> bool:
        """Whether a step less a pulse edge fits its own state's labels better than the step as read."""
        own = self.signatures.get((merged.appliance_id or "", merged.state or ""))
        if own is None:
            return False
        as_read = own.match(abs(merged.dp), dq_as_on(merged), self.noise_w)
        dp, dq = without_edge(merged.dp, merged.dq, edge)
        corrected = own.match(abs(dp), reactive_as_on(dp, dq), self.noise_w)
        return corrected is not None and (as_read is None or corrected[0] > as_read[0])

    def _giving_back(self, merged: Event, edge: Edge) -> Callable[[], None] | None:
        """How a pulse's ON is given back to the step it hid in, if that step can hold it.

        A named step must fit its own labels better without the edge; an unidentified one must be another
        switching beside it.
        """
        if _named(merged):
            return (
                partial(self._give_back, merged, edge) if self._fits_better(merged, edge) else None
            )
        rest = self._rest_of(merged, edge)
        return None if rest is None else partial(self._take_rest, rest)

    def _lone_step_between(self, start: float, end: float) -> Event | None:
        """The event strictly between two times, if exactly one lies there."""
        between = [e for e in self.event_log.since(start) if e.t < end]
        return between[0] if len(between) == 1 else None

    def _rest_of(self, step: Event, edge: Edge) -> Rest | None:
        """A step, if unidentified, as another switching beside the edge.

        A step that ended an unknown load was explained (as that load's OFF) and is left as it is.
        """
        if step.status != "unidentified" or self.tracker.closed_by(step.id):
            return None
        dp, dq = without_edge(step.dp, step.dq, edge)
        if abs(dp) < self.detector.threshold():
            return None
        switching = replace(
            step,
            dp=dp,
            dq=dq,
            kind="on" if dp > 0 else "off",
            pf=step_power_factor(dp, dq),
            overshoot_w=0.0,
        )
        # A state already on does not switch on again here: that would be a missed OFF within a missed OFF.
        # (Pairs are of states that were off.)
        every, pairs = self._options(switching)
        options = [
            option
            for option in every
            if not (
                switching.kind == "on"
                and (option.lead.appliance_id, option.lead.state) in self.tracker.active
            )
        ]
        # The step's transient belongs to both loads: the switching is judged as if it had none.
        inrush = inrush_feature(dp, 0.0) if switching.kind == "on" else None
        decision = classify(abs(dp), dq_as_on(switching), options, self.noise_w, inrush, pairs)
        best = decision.best
        if (
            best is None
            or best.lead.appliance_id == UNKNOWN
            or len(best.signatures) > 1
            or decision.confidence < max(self.config.confidence_threshold, REST_CONFIDENCE)
        ):
            return None
        return Rest(step, switching, best, decision)

    def _take_rest(self, rest: Rest) -> None:
        """The step becomes the switching it held beside the pulse's edge, and is reported again revised.

        It no longer runs as an unknown load of the size it read. Its step is the switching's own from now
        on: a label of it learns that, as the appliance's other switchings do.
        """
        step, switching = rest.step, rest.switching
        self.tracker.unknown.pop(step.id, None)
        step.dp, step.dq, step.kind = switching.dp, switching.dq, switching.kind
        step.pf, step.overshoot_w = switching.pf, switching.overshoot_w
        step.status = "identified"
        step.confidence = rest.decision.confidence
        step.candidates = appliance_candidates(rest.decision)
        self._apply(step, rest.option)
        self.revised.append(step)
        self.event_log.recount()

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


def appliance_candidates(decision: Decision) -> list[Candidate]:
    """A decision's candidates without the unknown loads it weighed (they are no appliance to name)."""
    return [c for c in decision.candidates if c[0] != UNKNOWN]


def _named(event: Event) -> bool:
    return event.appliance_id is not None and event.state is not None


def _edge(pulse_w: float, pulse: Signature, shown_by: str) -> Edge:
    """A pulse's edge of `pulse_w` (signed as it moved the mains) with its typical reactive part."""
    reactive = pulse.profile().reactive
    return Edge(
        pulse_w, None if reactive is None else math.copysign(reactive.centre, pulse_w), shown_by
    )
