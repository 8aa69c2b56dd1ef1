"""Versioned JSON state: round trips through json, and refuses what it cannot read."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from custom_components.nilm.engine import STATE_VERSION, Engine, EngineConfig, StateError
from custom_components.nilm.engine.state import Edge

T0 = 1_700_000_000.0


def _trained() -> tuple[Engine, np.ndarray, np.ndarray]:
    engine = Engine(EngineConfig(price_per_kwh=0.3))
    p = np.concatenate(
        [np.full(20, 100.0), np.full(40, 2100.0), np.full(30, 100.0), np.full(20, 2100.0)]
    )
    t = T0 + np.arange(p.size, dtype=float)
    q = np.where(p > 1000, 60.0, 10.0)
    events = engine.feed_arrays(t, p, q=q).events
    engine.label_event(events[0].id, "kettle")
    engine.label_event(events[1].id, "kettle", state="boil")
    return engine, t, p


def _saved(engine: Engine) -> dict[str, Any]:
    """The engine's state as it comes back from the JSON file Home Assistant keeps."""
    return json.loads(json.dumps(engine.to_dict()))


def test_round_trip_through_json_keeps_everything() -> None:
    engine, t, _ = _trained()
    data = _saved(engine)
    assert data["version"] == STATE_VERSION
    restored = Engine.from_dict(data, EngineConfig(price_per_kwh=0.3))
    assert restored.to_dict() == engine.to_dict()
    before, after = engine.snapshot(), restored.snapshot()
    assert after.appliances == before.appliances
    assert after.unidentified_energy_kwh == before.unidentified_energy_kwh
    assert [e.id for e in restored.events("all")] == [e.id for e in engine.events("all")]
    # Counters continue: the next event and appliance ids are new ones.
    restored.feed_arrays(t[-1] + 1 + np.arange(40.0), np.full(40, 100.0))
    assert restored.create_appliance("other").id not in before.appliances


def test_first_sample_after_restore_reanchors() -> None:
    engine, t, _ = _trained()
    restored = Engine.from_dict(engine.to_dict())
    update = restored.feed_arrays(t[-1] + 2 + np.arange(10.0), np.full(10, 100.0))
    assert update.events == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(version=STATE_VERSION + 1),
        lambda d: d.pop("signatures"),
        lambda d: d["appliances"].append({"id": "x"}),
        lambda d: d.update(event_seq="many"),
        lambda d: d.update(runs={"recent": [["e1", 0.0]], "labeled": []}),
        lambda d: d.update(hidden_edges=[["e1", "much", None, "e2"]]),
        lambda d: d.update(hidden_edges=[["e1", -170.0, None]]),
    ],
)
def test_unreadable_state_raises_state_error(mutate) -> None:  # type: ignore[no-untyped-def]
    engine, _, _ = _trained()
    data = engine.to_dict()
    mutate(data)
    with pytest.raises(StateError) as err:
        Engine.from_dict(data)
    assert isinstance(err.value, ValueError)


def test_non_dict_state_raises_state_error() -> None:
    with pytest.raises(StateError):
        Engine.from_dict([1, 2, 3])  # type: ignore[arg-type]


def test_unknown_loads_round_trip_and_older_state_has_none() -> None:
    engine, t, _ = _trained()
    # A 700 W load no label explains: followed as an unknown load.
    tail = t[-1] + 1 + np.arange(60.0)
    engine.feed_arrays(tail, np.where(tail < tail[0] + 20, 100.0, 800.0))
    assert len(engine.tracker.unknown) == 1
    # Counted as part of an appliance's run: the owner survives a restart.
    next(iter(engine.tracker.unknown.values())).owner = next(iter(engine.appliances))
    data = _saved(engine)
    assert Engine.from_dict(data).tracker.unknown == engine.tracker.unknown
    del data["unknown_loads"]
    assert Engine.from_dict(data).tracker.unknown == {}


def test_a_labeled_run_stays_held_after_a_restart_and_older_state_is_not() -> None:
    engine, _, _ = _trained()
    engine.label_event(engine.events("all")[-1].id, "kettle")
    data = _saved(engine)
    assert [c.held for c in Engine.from_dict(data).tracker.active.values()] == [True]
    for raw in data["active"]:
        del raw["held"]
    assert [c.held for c in Engine.from_dict(data).tracker.active.values()] == [False]


def test_run_lengths_and_hourly_minima_round_trip() -> None:
    """What timeouts and the baseload are made of survives a restart."""
    engine, t, _ = _trained()
    # Another hour with the kettle switched on and off closes an hour of minima and teaches a run.
    tail = t[-1] + 1 + np.arange(3_700.0)
    engine.feed_arrays(
        tail, np.where((tail > tail[0] + 100) & (tail < tail[0] + 220), 2100.0, 100.0)
    )
    assert engine.tracker.runs_seen
    assert engine.hourly_minima
    # Confirmed by a label, that run's length is the kettle's.
    engine.label_event(engine.events("all")[1].id, "kettle")
    assert engine.runs.labeled
    assert engine.runs.recent
    data = _saved(engine)
    restored = Engine.from_dict(data)
    assert restored.tracker.runs_seen == engine.tracker.runs_seen
    assert restored.tracker.longest_run_s == engine.tracker.longest_run_s
    assert list(restored.hourly_minima) == list(engine.hourly_minima)
    assert restored.runs.to_dict() == engine.runs.to_dict()
    # State written before run lengths were learned has none.
    del data["runs"]
    assert Engine.from_dict(data).runs.to_dict() == {"recent": [], "labeled": []}


def test_the_meter_as_learned_round_trips() -> None:
    """A noisy minute meter: its noise, period, baseload and last reading time survive a restart."""
    engine = Engine()
    rng = np.random.default_rng(1)
    t = T0 + 60.0 * np.arange(300)
    engine.feed_arrays(t, 400.0 + rng.normal(0.0, 8.0, t.size))
    restored = Engine.from_dict(_saved(engine))
    assert restored.detector.noise_w == engine.detector.noise_w > 5.0
    assert restored.detector.period_s == engine.detector.period_s == pytest.approx(60.0)
    assert restored.baseload_w == engine.baseload_w > 300.0
    # A reading from before the restart is not counted twice.
    assert restored.feed_arrays([t[-2]], [400.0]).dropped == 1


def test_switch_times_round_trip_and_older_state_has_none() -> None:
    """After a restart a multi-state appliance is still in its run (between its phases)."""
    engine, t, _ = _trained()
    tail = t[-1] + 1 + np.arange(60.0)
    engine.feed_arrays(tail, np.where(tail < tail[0] + 30, 100.0, 2100.0))
    assert engine.last_switch
    data = _saved(engine)
    assert Engine.from_dict(data).last_switch == engine.last_switch
    del data["last_switch"]
    assert Engine.from_dict(data).last_switch == {}


def test_hidden_edges_round_trip_and_older_state_has_none() -> None:
    """A pulse edge found in a step is still left out of that step's label after a restart."""
    engine, _, _ = _trained()
    engine.hidden_edges["e1"] = Edge(-170.0, -12.0, "e2")
    engine.hidden_edges["e2"] = Edge(170.0, None, "e3")
    data = _saved(engine)
    assert Engine.from_dict(data).hidden_edges == engine.hidden_edges
    del data["hidden_edges"]
    assert not Engine.from_dict(data).hidden_edges
