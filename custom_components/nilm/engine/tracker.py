"""Appliance state tracking: which appliance states are on, with what power, and what is left over."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

type StateKey = tuple[str, str]

# Without a paired OFF, an ON older than this many times the longest run seen is not that state.
TIMEOUT_FACTOR = 1.5
# The longest of a few runs understates how long a state can run (a water heater seen once for 6 minutes runs
# for hours): a margin that shrinks as runs are seen, 2.5 times the longest after one run, 1.7 after five. More
# holds a heater taken for a kettle seen once that much longer.
FEW_RUNS_MARGIN = 1.0
DEFAULT_MAX_ON_S = 6 * 3600.0
MIN_TIMEOUT_S = 300.0
# Below this share of its power left in the mains, a state cannot still be on.
RECHECK_SHARE = 0.6
# Below this share of their summed power, not all the states on can be: one ON was another load's. Looser
# than one state's share: at 0.5-0.6 it also ended states that were on (tracebase state F1 0.452-0.454,
# not 0.458).
RECHECK_TOTAL_SHARE = 0.4
# OFF events whose closed states can still be reopened when the user relabels them.
MAX_REMEMBERED_OFFS = 64
# Loads switched on by unidentified ONs, followed so that their OFFs end them and not a known appliance.
MAX_UNKNOWN_LOADS = 20
# The appliance id of an unknown load (its state is the id of the ON that started it).
UNKNOWN = ""
# What an appliance is doing while only loads that started within its run (no state of its own) are on.
UNLABELED_STATE = "unlabeled"


@dataclass(slots=True)
class Component:
    """One appliance state that is switched on, with the power (and reactive power) its ON step added."""

    appliance_id: str
    state: str
    power_w: float
    since: float
    event_id: str
    reactive_var: float | None = None
    # An unknown load that started within a multi-state appliance's run: part of that appliance.
    owner: str | None = None
    # The user named its ON: its own run lengths do not time it out (a lamp labeled after one short
    # evening stays on through a long one); an OFF, the mains or DEFAULT_MAX_ON_S still end it.
    held: bool = False


class Tracker:
    """Pairs ON and OFF events per appliance state and splits the mains among what is on.

    Loads whose ON was not identified are followed apart from the appliances (`unknown`): an unmetered
    heater's OFF should end the heater, not a known appliance of the same size that happens to run.
    """

    def __init__(self) -> None:
        """Nothing is on."""
        self.active: dict[StateKey, Component] = {}
        self.unknown: dict[str, Component] = {}
        self.longest_run_s: dict[StateKey, float] = {}
        self.runs_seen: dict[StateKey, int] = {}
        # What each OFF closed, and the longest runs it set: (the run before, None if none; the run set).
        self._closed_by: OrderedDict[
            str, tuple[list[Component], dict[StateKey, tuple[float | None, float]]]
        ] = OrderedDict()
        # Level changes of running states, by event, so relabeling can take them back.
        self._adjusted_by: OrderedDict[str, tuple[StateKey, float]] = OrderedDict()

    def switch_on(
        self,
        appliance_id: str,
        state: str,
        power_w: float,
        t: float,
        event_id: str,
        *,
        held: bool = False,
    ) -> None:
        """An ON event: the state runs from t with this power (a missed OFF is implied)."""
        self.active[(appliance_id, state)] = Component(
            appliance_id, state, abs(power_w), t, event_id, held=held
        )

    def track_unknown(
        self,
        power_w: float,
        reactive_var: float | None,
        t: float,
        event_id: str,
        owner: str | None = None,
    ) -> None:
        """An unidentified ON: a load of this size runs from t, until an OFF of its size ends it."""
        self._add_unknown(
            Component(UNKNOWN, event_id, abs(power_w), t, event_id, reactive_var, owner)
        )

    def _add_unknown(self, load: Component) -> None:
        """Follow an unknown load (keyed by its ON's event id); the oldest go beyond the bound."""
        self.unknown[load.event_id] = load
        while len(self.unknown) > MAX_UNKNOWN_LOADS:
            del self.unknown[next(iter(self.unknown))]

    def to_unknown(self, key: StateKey, owner: str | None = None) -> Component:
        """A running state that is not that state, while something of its size still runs: an unknown load.

        It goes on as part of `owner`'s run, if given. Returns the state's component.
        """
        component = self.active.pop(key)
        self._add_unknown(
            replace(component, appliance_id=UNKNOWN, state=component.event_id, owner=owner)
        )
        return component

    def switch_off(
        self, keys: list[StateKey], t: float, event_id: str, *, confirmed: bool = False
    ) -> list[Component]:
        """An OFF event ends these states (or unknown loads); their run lengths teach the timeout.

        `confirmed`: the user named this OFF.
        """
        closed: list[Component] = []
        replaced: dict[StateKey, tuple[float | None, float]] = {}
        for key in keys:
            if key[0] == UNKNOWN:
                load = self.unknown.pop(key[1], None)
                closed.extend([] if load is None else [load])
                continue
            component = self.active.pop(key, None)
            if component is None:
                continue
            self.runs_seen[key] = self.runs_seen.get(key, 0) + 1
            before = self.longest_run_s.get(key)
            run = t - component.since
            closed.append(component)
            # A held run longer than its state's timeout is a run length only in the user's words: an OFF
            # the engine paired hours later may be another load's.
            if component.held and not confirmed and run > self.limit_s(key):
                continue
            if before is None or run > before:
                self.longest_run_s[key] = run
                replaced[key] = (before, run)
        if closed:
            self._closed_by[event_id] = (closed, replaced)
            while len(self._closed_by) > MAX_REMEMBERED_OFFS:
                self._closed_by.popitem(last=False)
        return closed

    def closed_with(self, on_event_id: str) -> tuple[str, list[StateKey]] | None:
        """The remembered OFF that ended the run an ON started, and the other states it ended."""
        for off_event_id, (closed, _) in reversed(self._closed_by.items()):
            if any(c.event_id == on_event_id for c in closed):
                others = [(c.appliance_id, c.state) for c in closed if c.event_id != on_event_id]
                return off_event_id, others
        return None

    def closed_by(self, off_event_id: str) -> list[Component]:
        """The states a remembered OFF ended (none if it is forgotten or ended nothing)."""
        entry = self._closed_by.get(off_event_id)
        return [] if entry is None else list(entry[0])

    def last_closed(self, appliance_id: str) -> tuple[str, list[Component]] | None:
        """The latest remembered OFF that ended a state of this appliance, and all it ended."""
        for off_event_id, (closed, _) in reversed(self._closed_by.items()):
            if any(c.appliance_id == appliance_id for c in closed):
                return off_event_id, closed
        return None

    def last_offs(self) -> dict[StateKey, str]:
        """The latest remembered OFF that ended each state."""
        return {
            (c.appliance_id, c.state): off_event_id
            for off_event_id, (closed, _) in self._closed_by.items()
            for c in closed
        }

    def hand_over(self, key: StateKey, to: StateKey) -> None:
        """A running state's run is another state's: it goes on from its ON, with the power that ON added."""
        component = self.active.pop(key)
        self.active[to] = replace(component, appliance_id=to[0], state=to[1])

    def adjust(self, key: StateKey, delta_w: float, event_id: str) -> None:
        """A running state changes level by delta_w (a TV dimming, a PC going idle); it stays on."""
        component = self.active[key]
        delta_w = max(delta_w, -component.power_w)
        component.power_w += delta_w
        self._adjusted_by[event_id] = (key, delta_w)
        while len(self._adjusted_by) > MAX_REMEMBERED_OFFS:
            self._adjusted_by.popitem(last=False)

    def undo(self, event_id: str) -> None:
        """Take back what an event did: states it switched on end, states it switched off resume."""
        adjusted = self._adjusted_by.pop(event_id, None)
        if adjusted is not None and adjusted[0] in self.active:
            component = self.active[adjusted[0]]
            component.power_w = max(0.0, component.power_w - adjusted[1])
        for key, component in list(self.active.items()):
            if component.event_id == event_id:
                del self.active[key]
        self.unknown.pop(event_id, None)
        closed, replaced = self._closed_by.pop(event_id, ([], {}))
        # An OFF taken back taught no run length (a fridge's OFF first read as the TV's would leave the TV
        # a timeout of the fridge's cycle), unless a later run has since set a longer one.
        for key, (before, run) in replaced.items():
            if self.longest_run_s.get(key) != run:
                continue
            if before is None:
                del self.longest_run_s[key]
            else:
                self.longest_run_s[key] = before
        for component in closed:
            if component.appliance_id == UNKNOWN:
                self.unknown.setdefault(component.state, component)
                continue
            key = (component.appliance_id, component.state)
            self.active.setdefault(key, component)
            if self.runs_seen.get(key, 0) > 1:
                self.runs_seen[key] -= 1
            else:
                self.runs_seen.pop(key, None)

    def forget(self, appliance_id: str) -> None:
        """Drop everything known about an appliance (deleted or merged away)."""
        for key in [k for k in self.active if k[0] == appliance_id]:
            del self.active[key]
        for key in [k for k in self.longest_run_s if k[0] == appliance_id]:
            del self.longest_run_s[key]
        for key in [k for k in self.runs_seen if k[0] == appliance_id]:
            del self.runs_seen[key]
        for load in self.unknown.values():
            if load.owner == appliance_id:
                load.owner = None

    def running(self, appliance_id: str, before: float) -> list[Component]:
        """The states of an appliance switched on before t."""
        return [
            c for c in self.active.values() if c.appliance_id == appliance_id and c.since < before
        ]

    def recheck(self, t: float, level_w: float | None, baseload_w: float) -> list[Component]:
        """Switch off states that cannot still be on: too long without an OFF, or more than the mains holds.

        A state that timed out while the mains still holds it becomes an unknown load: something of its
        size is on, but not this state. Returns the appliance states switched off; unknown loads are
        dropped silently, by the mains or after DEFAULT_MAX_ON_S.
        """
        stale: list[Component] = []
        for key, component in list(self.active.items()):
            gone = no_room(component.power_w, level_w, baseload_w)
            if not gone and t - component.since <= self._limit(key, component):
                continue
            if gone:
                stale.append(self.active.pop(key))
            else:
                # Far longer than this state ever ran, yet the mains still holds it: another load of the
                # same size (a washer's heater taken for the kettle), whose OFF must not end a kettle.
                stale.append(self.to_unknown(key))
        if level_w is not None:
            stale += self._overcommitted(level_w - baseload_w)
        for event_id, load in list(self.unknown.items()):
            if no_room(load.power_w, level_w, baseload_w) or t - load.since > DEFAULT_MAX_ON_S:
                del self.unknown[event_id]
            elif load.owner is not None and t - load.since > self.session_limit_s(load.owner):
                # Longer than its appliance ever runs: something else, still on, no longer that appliance.
                load.owner = None
        return stale

    def _overcommitted(self, room_w: float) -> list[Component]:
        """Switch off states until what runs fits the mains; each time the one whose removal fits it best.

        Each state may fit alone while together they hold far more than the mains (a washer's drum step
        taken for the fridge, with the fridge and a lamp on): the one without which the rest comes closest
        to the mains is the one that is not on. A run whose ON the user named goes last: the engine's own
        guesses are the likelier mistakes.
        """
        stale: list[Component] = []
        total = sum(c.power_w for c in self.active.values())
        while self.active and RECHECK_TOTAL_SHARE * total > room_w:
            key = min(
                self.active,
                key=lambda k: (self.active[k].held, abs(total - self.active[k].power_w - room_w)),
            )
            stale.append(self.active.pop(key))
            total -= stale[-1].power_w
        return stale

    def limit_s(self, key: StateKey) -> float:
        """How long a state may stay on without an OFF: a multiple of its longest run, once it has one."""
        longest = self.longest_run_s.get(key)
        if longest is None:
            return DEFAULT_MAX_ON_S
        factor = TIMEOUT_FACTOR + FEW_RUNS_MARGIN / max(1, self.runs_seen.get(key, 1))
        return max(MIN_TIMEOUT_S, factor * longest)

    def _limit(self, key: StateKey, component: Component) -> float:
        limit = self.limit_s(key)
        return max(limit, DEFAULT_MAX_ON_S) if component.held else limit

    def session_limit_s(self, appliance_id: str) -> float:
        """How long a load that started within an appliance's run may count as that appliance."""
        return max(
            (self.limit_s(k) for k in self.longest_run_s if k[0] == appliance_id),
            default=DEFAULT_MAX_ON_S,
        )

    def next_expiry(self) -> float | None:
        """When the first running state times out or a load stops counting as its appliance's or at all."""
        return min(
            [
                *(c.since + self._limit(k, c) for k, c in self.active.items()),
                *(
                    c.since + self.session_limit_s(c.owner)
                    for c in self.unknown.values()
                    if c.owner is not None
                ),
                *(c.since + DEFAULT_MAX_ON_S for c in self.unknown.values()),
            ],
            default=None,
        )

    def total_w(self) -> float:
        """Sum of the powers of everything on."""
        return sum(c.power_w for c in self._attributed())

    def _attributed(self) -> Iterator[Component]:
        """Appliance states on, and the unknown loads that count as part of an appliance."""
        yield from self.active.values()
        yield from (c for c in self.unknown.values() if c.owner is not None)

    def shares(self, mains: NDArray[np.float64]) -> NDArray[np.float64]:
        """Per-sample factor that scales the on-powers so that their sum never exceeds the mains."""
        total = self.total_w()
        if total <= 0.0:
            return np.ones_like(mains)
        return np.clip(mains / total, 0.0, 1.0)

    def appliance_powers(self) -> dict[str, tuple[float, str]]:
        """Per appliance: its summed on-power and the name of its largest running state."""
        out: dict[str, tuple[float, str]] = {}
        for component in self._attributed():
            appliance_id = component.owner or component.appliance_id
            name = UNLABELED_STATE if component.owner else component.state
            power, state = out.get(appliance_id, (0.0, name))
            if component.power_w > power:
                state = name
            out[appliance_id] = (power + component.power_w, state)
        return out


def no_room(power_w: float, level_w: float | None, baseload_w: float) -> bool:
    """A load of this power is more than the mains above the baseload holds: it cannot still be on."""
    return level_w is not None and level_w - baseload_w < RECHECK_SHARE * power_w
