"""Runs judged again by how long they last: unknown loads named, runs that outlast their state handed over."""

from __future__ import annotations

from .classifier import Option, classify
from .identify import Identification, sole
from .model import Event
from .tracker import Component, StateKey

# An unknown load still on after this long is classified again among the states that run this long.
RECONSIDER_AFTER_S = 300.0
# A state that had this share of an ON's posterior may take over its run when the run outlasts the winner's.
# Low: a kettle's five labels of 1,998 W take 0.98 of a washer heater's 1,990 W step from the heater's two
# labels of 1,818-1,990 W, though the step alone cannot tell them apart (simulated houses 0.845 at 0.2, 0.850).
HANDOVER_MIN_P = 0.01
# A named run is judged again once it lasts this much longer than any run of its state so far (a kettle of
# 100-240 s, at 260 s a washer's 15-minute heater), before its timeout at 1.5 times that would end it.
OUTLAST_FACTOR = 1.1
# A heating element's power (a kettle, a toaster, a dishwasher's or washer's heater); the small loads that run
# for hours (TV, PC, lamps, fridge) draw less than half of it. Tracebase seeds 1-16, against not converting:
# +0.0077 / +0.0079 / +0.0063 / +0.0051 at 300 / 500 / 1,000 / 1,500 W, -0.0048 with no bound.
ELEMENT_W = 500.0


class Reconsideration(Identification):
    """Names a load again once its run's length says more than its step did."""

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
                self._element_of_another_run(key, component, t)
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

    def _element_of_another_run(self, key: StateKey, component: Component, t: float) -> None:
        """A heating element's run that outlasted its state while another appliance is mid-programme.

        A kettle's ON of 2.4 kW that runs past its longest boil while a dishwasher is in its run is the
        dishwasher's heater, whose states the labels did not teach: it goes on as an unknown load, part of
        that run, now instead of at the kettle's timeout. Only elements: a small load's run outlasting its
        labeled ones is as often its own long evening (a TV), and without another appliance in its run the
        state keeps it (a kettle boiling longer than it was labeled for).
        """
        if component.power_w < ELEMENT_W:
            return
        others = self._in_their_runs(t) - {key[0]}
        if not others:
            return
        self.tracker.to_unknown(key, sole(others))
        self._note_stale(key[0])

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
