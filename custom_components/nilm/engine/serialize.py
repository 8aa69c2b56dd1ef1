"""Versioned, JSON-able state of an Engine (no pickle): what the integration persists."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .classifier import LabeledStep, Signature
from .core import Engine
from .model import EngineConfig, Event
from .state import ApplianceRecord, Edge
from .tracker import Component

VERSION = 1


class StateError(ValueError):
    """Stored state that cannot be read back (a corrupt or foreign store, not a user error)."""


def to_dict(engine: Engine) -> dict[str, Any]:
    """Everything learned and counted, as plain data."""
    ledger = engine.ledger
    return {
        "version": VERSION,
        "event_seq": engine.event_seq,
        "appliance_seq": engine.appliance_seq,
        "appliances": [asdict(r) for r in engine.appliances.values()],
        "signatures": [
            {
                "appliance_id": s.appliance_id,
                "state": s.state,
                "entries": [[e.event_id, e.power_w, e.reactive_var, e.inrush] for e in s.entries],
            }
            for s in engine.signatures.values()
        ],
        "events": [_event_dict(e) for e in engine.event_log],
        "active": [asdict(c) for c in engine.tracker.active.values()],
        "unknown_loads": [asdict(c) for c in engine.tracker.unknown.values()],
        "longest_run_s": [[a, s, v] for (a, s), v in engine.tracker.longest_run_s.items()],
        "runs_seen": [[a, s, n] for (a, s), n in engine.tracker.runs_seen.items()],
        "last_switch": [[a, t] for a, t in engine.last_switch.items()],
        "runs": engine.runs.to_dict(),
        "hidden_edges": [[e, *edge] for e, edge in engine.hidden_edges.items()],
        "ledger": {
            "energy_kwh": ledger.energy_kwh,
            "period_cost": ledger.period_cost,
            "unidentified_kwh": ledger.unidentified_kwh,
            "mains_kwh": ledger.mains_kwh,
            "mains_period_cost": ledger.mains_period_cost,
            "period_start": ledger.period_start,
            "period_end": ledger.period_end,
        },
        "detector": {"noise_w": engine.detector.noise_w, "period_s": engine.detector.period_s},
        "hourly_minima": [list(m) for m in engine.hourly_minima],
        "baseload_w": engine.baseload_w,
        "last_t": engine.last_t,
    }


def _event_dict(event: Event) -> dict[str, Any]:
    data = asdict(event)
    data["candidates"] = [list(c) for c in event.candidates]
    return data


def from_dict[E: Engine](data: dict[str, Any], config: EngineConfig | None, cls: type[E]) -> E:
    """An engine of class `cls` with the given state; raises StateError for data it cannot read."""
    try:
        return _restore(data, config, cls)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise StateError(f"unreadable engine state: {err!r}") from err


def _restore[E: Engine](data: dict[str, Any], config: EngineConfig | None, cls: type[E]) -> E:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise StateError("unsupported engine state version")
    engine = cls(config)
    engine.event_seq = int(data["event_seq"])
    engine.appliance_seq = int(data["appliance_seq"])
    for raw in data["appliances"]:
        record = ApplianceRecord(**raw)
        engine.appliances[record.id] = record
    for raw in data["signatures"]:
        signature = Signature(
            raw["appliance_id"],
            raw["state"],
            [
                LabeledStep(str(e), float(dp), _optional_float(dq), _optional_float(inrush))
                for e, dp, dq, inrush in raw["entries"]
            ],
        )
        engine.signatures[(signature.appliance_id, signature.state)] = signature
    for raw in data["events"]:
        event = Event(
            **{**raw, "candidates": [(str(a), str(s), float(p)) for a, s, p in raw["candidates"]]}
        )
        engine.event_log.add(event)
    engine.last_event = engine.event_log.last()
    engine.event_log.recount()
    for raw in data["active"]:
        component = Component(**raw)
        engine.tracker.active[(component.appliance_id, component.state)] = component
    # State written before unknown loads were followed has none.
    for raw in data.get("unknown_loads", []):
        load = Component(**raw)
        engine.tracker.unknown[load.event_id] = load
    for appliance_id, state, seconds in data["longest_run_s"]:
        engine.tracker.longest_run_s[(appliance_id, state)] = float(seconds)
    # State written before runs were counted has none: each state then counts as seen once.
    for appliance_id, state, count in data.get("runs_seen", []):
        engine.tracker.runs_seen[(str(appliance_id), str(state))] = int(count)
    # State written before runs were followed across phases has no switch times.
    for appliance_id, t in data.get("last_switch", []):
        engine.last_switch[str(appliance_id)] = float(t)
    # State written before run lengths were learned has none.
    engine.runs.restore(data.get("runs", {"recent": [], "labeled": []}))
    # State written before hidden pulse edges were found has none.
    for event_id, pulse_w, pulse_var, shown_by in data.get("hidden_edges", []):
        engine.hidden_edges[str(event_id)] = Edge(
            float(pulse_w), _optional_float(pulse_var), str(shown_by)
        )
    ledger = data["ledger"]
    engine.ledger.energy_kwh = {str(k): float(v) for k, v in ledger["energy_kwh"].items()}
    engine.ledger.period_cost = {str(k): float(v) for k, v in ledger["period_cost"].items()}
    engine.ledger.unidentified_kwh = float(ledger["unidentified_kwh"])
    engine.ledger.mains_kwh = float(ledger["mains_kwh"])
    engine.ledger.mains_period_cost = float(ledger["mains_period_cost"])
    engine.ledger.period_start = ledger["period_start"]
    engine.ledger.period_end = ledger["period_end"]
    engine.detector.noise_w = float(data["detector"]["noise_w"])
    engine.detector.period_s = float(data["detector"]["period_s"])
    engine.noise_w, engine.period_s = engine.detector.noise_w, engine.detector.period_s
    engine.hourly_minima.extend((int(h), float(m)) for h, m in data["hourly_minima"])
    engine.baseload_w = float(data["baseload_w"])
    engine.last_t = None if data["last_t"] is None else float(data["last_t"])
    # The first reading after a restart re-anchors: nothing is measured across the downtime.
    engine.gap_pending = True
    return engine


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
