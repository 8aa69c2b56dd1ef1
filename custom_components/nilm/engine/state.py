"""What the engine knows (appliances, signatures, events, runs) and the moves every stage makes on it."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from .classifier import Signature
from .detector import Detector, Fall
from .energy import Ledger
from .eventlog import EventLog
from .model import Appliance, EngineConfig, Event, InvalidNameError, UnknownApplianceError, Update
from .runs import Run, RunHistory
from .tracker import StateKey, Tracker

DEFAULT_STATE = "on"
MAX_NAME_LENGTH = 64
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


class EngineState:
    """The engine's state and the moves every stage makes on it.

    Switching runs off, learning and unlearning labeled steps, noting switches; appliance records and views.
    """

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
        # Events reported before that a later step named again, for the caller to report revised.
        self.revised: list[Event] = []
        # The runs OFF events ended, and the run lengths labels taught: evidence for a pulsing load's ONs.
        self.runs = RunHistory()

    @property
    def hourly_minima(self) -> deque[tuple[int, float]]:
        """The lowest steady level of each of the last day's hours (the detector keeps them)."""
        return self.detector.hourly_minima

    def _next_event_id(self) -> str:
        self.event_seq += 1
        return f"e{self.event_seq}"

    def _switched(self, appliance_id: str, t: float) -> None:
        """Note a switch of an appliance, identified or labeled: it keeps a multi-state one in its run."""
        self.last_switch[appliance_id] = max(t, self.last_switch.get(appliance_id, t))

    def _note_stale(self, appliance_id: str) -> None:
        record = self.appliances.get(appliance_id)
        if record is not None:
            record.confidence = 0.0

    def _undo(self, event_id: str) -> None:
        """Take back what an event switched, and the runs it ended."""
        self.tracker.undo(event_id)
        self.runs.undo(event_id)

    def _switch_off(self, keys: list[StateKey], event: Event) -> None:
        """An OFF ends these states or loads; each run it ends is remembered, and taught if a label names it."""
        for component in self.tracker.switch_off(
            keys, event.t, event.id, confirmed=event.status == "labeled"
        ):
            run = event.t - component.since
            self.runs.record(Run(event.id, event.t, component.power_w, run))
            if teaches_run(self.event_log.find(component.event_id), event, component.appliance_id):
                self.runs.learn((component.appliance_id, component.state), event.id, run)

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

    def _own_step(self, event: Event) -> tuple[float, float | None]:
        """An event's step (P, Q) less a pulse edge found hidden in it."""
        edge = self.hidden_edges.get(event.id)
        return (event.dp, event.dq) if edge is None else without_edge(event.dp, event.dq, edge)

    def create_appliance(self, name: str) -> Appliance:
        """A new appliance with no signature yet."""
        name = valid_name(name)
        if self._find(name) is not None:
            raise InvalidNameError(f"an appliance named {name!r} exists")
        self.appliance_seq += 1
        record = ApplianceRecord(id=f"{self.appliance_seq:06x}", name=name)
        self.appliances[record.id] = record
        return self._view(record)

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

    def _share_now(self) -> float:
        """The factor that keeps the appliances' powers within the latest mains reading."""
        if self.mains_w is None:
            return 1.0
        return float(self.tracker.shares(np.array([self.mains_w]))[0])

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


def add_revised(update: Update, event: Event) -> None:
    """Report an event an earlier call reported, changed; once, and not if this call reports it anyway."""
    if not any(e is event for e in (*update.events, *update.revised)):
        update.revised.append(event)


def valid_name(name: str) -> str:
    """A name with its whitespace collapsed; raises InvalidNameError if empty or too long."""
    cleaned = " ".join(str(name).split())
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidNameError(f"a name must have 1 to {MAX_NAME_LENGTH} characters")
    return cleaned


def teaches_run(on: Event | None, off: Event, appliance_id: str) -> bool:
    """Whether a run's length is the user's word: its ON is labeled, or its OFF as this appliance."""
    return (off.status == "labeled" and off.appliance_id == appliance_id) or (
        on is not None and on.status == "labeled"
    )


def dq_as_on(event: Event) -> float | None:
    """The event's reactive step as it would be for the ON (OFF steps negated)."""
    return reactive_as_on(event.dp, event.dq)


def reactive_as_on(dp: float, dq: float | None) -> float | None:
    """A step's reactive change as it would be for the ON (OFF steps negated)."""
    if dq is None:
        return None
    return dq if dp >= 0 else -dq


def without_edge(dp: float, dq: float | None, edge: Edge) -> tuple[float, float | None]:
    """A step (P, Q) without a pulse edge that moved the mains in the same reading."""
    dq_less = None if dq is None or edge.reactive_var is None else dq - edge.reactive_var
    return dp - edge.power_w, dq_less
