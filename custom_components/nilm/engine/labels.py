"""The user's labels: events and groups named or ignored, learn mode; each label updates the signatures."""

from __future__ import annotations

import math

from .classifier import Option, classify
from .edges import MERGED_EDGE_PERIOD_S, HiddenEdges
from .grouping import group_events
from .model import Appliance, Event, EventGroup, UnknownGroupError
from .state import DEFAULT_STATE, ApplianceRecord, Learning, dq_as_on, teaches_run, valid_name

# A labeled OFF within this share of a running state's power is that state's OFF alone.
OFF_MATCH_SHARE = 0.3
# A labeled rise below this share of what its appliance already runs at, of no state of its own, is a
# change of level (a PC leaving idle), not a new state; a labeled fall short of a running state's OFF
# (1 - OFF_MATCH_SHARE) is a level drop (a TV dimming): the state stays on at less power.
LEVEL_RISE_SHARE = 0.5
MAX_STATES_PER_APPLIANCE = 8
# Steps within this factor of a state's typical step belong to it when labeled.
STATE_RATIO = 1.8


class Labeling(HiddenEdges):
    """Applies the user's word on events: signatures, runs and the tracker follow it."""

    def label_event(self, event_id: str, appliance: str, state: str | None = None) -> Appliance:
        """The user's word on an event: it is this appliance (existing id or name, or a new name)."""
        event = self.event_log.get(event_id)
        record = self._resolve_or_create(appliance)
        if state is not None:
            state = valid_name(state)
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
                    dq_as_on(later),
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
        if not running:
            return False
        key = (record.id, self._state_for(record, magnitude))
        same = next((c for c in running if (c.appliance_id, c.state) == key), None)
        learned = self.signatures.get(key)
        if learned is not None and same is None:
            # A known state of its own that is off (a washer's drum while its heater runs): a real ON.
            return False
        if magnitude < LEVEL_RISE_SHARE * sum(c.power_w for c in running):
            component = max(running, key=lambda c: c.power_w)
        elif (
            same is not None
            and learned is not None
            and _fits_below(same.power_w + magnitude, learned.power())
        ):
            # Its own state rising back to its labeled level (a dimmed TV brightening), not an OFF missed
            # and the state on anew at the rise's power; a fridge's ON while on would double it.
            component = same
        else:
            return False
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
        learned = self.signatures.get(keys[0])
        # Its own OFF if it fits what the state's ON added, or its labels when level drops labeled since
        # left less on than it ends (a washer's 170 W drum tracked at 41 W): the rest is not another load's.
        if _fits(magnitude, component.power_w) or (
            learned is not None and _fits(magnitude, learned.power())
        ):
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
            or not _fits(magnitude, component.power_w)
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

    def label_group(
        self,
        group_id: str,
        appliance: str,
        state: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> int:
        """Label the events of a group of similar unidentified events; returns how many.

        `since` / `until` keep to the group's events in that time (a group of one size may hold two appliances:
        the washer's drum in the morning, the TV's dims in the evening).
        """
        group = next((g for g in self.groups() if g.id == group_id), None)
        if group is None:
            raise UnknownGroupError(f"no group {group_id!r}")
        events = [self.event_log.get(event_id) for event_id in group.event_ids]
        chosen = [
            e for e in events if (since is None or e.t >= since) and (until is None or e.t <= until)
        ]
        for event in chosen:
            self.label_event(event.id, appliance, state)
        return len(chosen)

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
            if not teaches_run(on, off, appliance_id):
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
            record.id, None if state is None else valid_name(state), start + duration_s
        )
        return self._view(record)

    def events(self, kind: str = "pending") -> list[Event]:
        """Stored events: pending (unidentified), labeled, or all; newest first."""
        return self.event_log.select(kind)

    def groups(self) -> list[EventGroup]:
        """Similar unidentified events, largest groups first."""
        return group_events(self.event_log)


def _fits(magnitude: float, power_w: float) -> bool:
    """Whether an OFF of this size ends a state of this power alone."""
    return abs(magnitude - power_w) <= OFF_MATCH_SHARE * power_w


def _fits_below(level_w: float, power_w: float) -> bool:
    """Whether a level stays within what a state of this power may reach."""
    return level_w <= (1.0 + OFF_MATCH_SHARE) * power_w
