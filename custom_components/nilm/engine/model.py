"""The engine's domain objects: Sample, Event, Appliance views, groups, snapshots and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .detector import Step

type EventKind = Literal["on", "off"]
type EventStatus = Literal["identified", "unidentified", "labeled", "ignored"]
type Candidate = tuple[str, str, float]


@dataclass(frozen=True, slots=True)
class Sample:
    """One meter reading: t in Unix seconds (UTC), p in W; q var, i A, v V, pf 0..1 when known."""

    t: float
    p: float
    q: float | None = None
    i: float | None = None
    v: float | None = None
    pf: float | None = None


@dataclass(slots=True)
class EngineConfig:
    """Tunables; the integration's options map onto these."""

    event_threshold_w: float = 30.0
    confidence_threshold: float = 0.4
    max_pending_events: int = 500
    price_per_kwh: float = 0.0
    billing_day: int = 1
    timezone: str = "UTC"
    gap_s: float = 300.0
    max_labeled_per_signature: int = 50


@dataclass(slots=True)
class Event:
    """A confirmed step between two steady states, and what the engine (or the user) made of it."""

    id: str
    t: float
    dp: float
    kind: EventKind
    dq: float | None = None
    di: float | None = None
    pf: float | None = None
    overshoot_w: float = 0.0
    transient_s: float = 0.0
    hour: float = 0.0
    level_w: float = 0.0
    status: EventStatus = "unidentified"
    appliance_id: str | None = None
    state: str | None = None
    confidence: float = 0.0
    candidates: list[Candidate] = field(default_factory=list)


@dataclass(slots=True)
class Appliance:
    """What entities show of one appliance (a copy; changing it changes nothing in the engine)."""

    id: str
    name: str
    states: list[str]
    on: bool = False
    state: str | None = None
    power_w: float = 0.0
    energy_kwh: float = 0.0
    cost: float = 0.0
    confidence: float = 0.0
    last_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class EventGroup:
    """Similar unidentified events that can be named with one label."""

    id: str
    mean_dp: float
    count: int
    event_ids: tuple[str, ...]
    # When its oldest and newest members happened: what a user recalls a device by ("the washer ran from
    # 10:00 to 11:30"; a fridge all day).
    first_t: float
    last_t: float
    # The members' mean reactive step, where every member's is known.
    mean_dq: float | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The engine's state for entities: cheap to build, safe to share."""

    t: float | None
    mains_w: float | None
    baseload_w: float
    unidentified_w: float
    unidentified_energy_kwh: float
    pending_count: int
    last_event: Event | None
    appliances: dict[str, Appliance]
    projected_bill: float
    period_cost: float
    period_start: float | None


@dataclass(slots=True)
class Update:
    """What one feed call changed: the events it confirmed and the readings it refused.

    `revised` holds events reported by an earlier call that this one changed: an ON whose inrush settled
    becomes its net step, identified anew; an unidentified ON whose load ran long enough to be named; an
    unidentified step that held a pulse's edge, now the other load's switching it was without that edge.
    `steps` holds every step the detector confirmed, the fall that settled an inrush included (it makes no
    event of its own): what event detection is judged on.
    `backfill` (with `powers` requested) holds, per appliance, its power over readings of earlier calls that a
    step confirmed in this call covers (from its switch to its confirmation), oldest first: each reading's
    estimate is final once the step covering it is confirmed, however the readings were batched.
    """

    events: list[Event] = field(default_factory=list)
    revised: list[Event] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    backfill: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    accepted: int = 0
    dropped: int = 0


class NilmError(Exception):
    """A request the engine cannot honour; `key` names the reason for translated messages."""

    key = "nilm_error"


class UnknownEventError(NilmError):
    """No event with that id (never seen, or forgotten)."""

    key = "unknown_event"


class UnknownApplianceError(NilmError):
    """No appliance with that id or name."""

    key = "unknown_appliance"


class UnknownGroupError(NilmError):
    """No group of unidentified events with that id."""

    key = "unknown_group"


class InvalidNameError(NilmError):
    """An appliance or state name that is empty, too long, or already taken."""

    key = "invalid_name"
