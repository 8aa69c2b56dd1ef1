"""NILM engine: event detection, identification, tracking and energy. No Home Assistant import below here."""

from __future__ import annotations

from .combinatorial import CombinatorialEngine
from .core import Engine
from .model import (
    Appliance,
    EngineConfig,
    Event,
    EventGroup,
    InvalidNameError,
    NilmError,
    Sample,
    Snapshot,
    UnknownApplianceError,
    UnknownEventError,
    UnknownGroupError,
    Update,
)
from .serialize import VERSION as STATE_VERSION, StateError

__all__ = [
    "STATE_VERSION",
    "Appliance",
    "CombinatorialEngine",
    "Engine",
    "EngineConfig",
    "Event",
    "EventGroup",
    "InvalidNameError",
    "NilmError",
    "Sample",
    "Snapshot",
    "StateError",
    "UnknownApplianceError",
    "UnknownEventError",
    "UnknownGroupError",
    "Update",
]
