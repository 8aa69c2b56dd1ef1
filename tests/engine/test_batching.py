"""The engine's output does not depend on how readings are batched.

Home Assistant feeds one reading per call (a sensor source) or a few seconds of readings (the meter's
webhook); a replay feeds hours per call. Every decision is judged with the meter as it stood at its reading,
and each reading's power is final once the step covering it is confirmed (readings of earlier calls come
back in `Update.backfill`), so all of these give the same events, the same power per reading and the same
energy.
"""

from __future__ import annotations

import copy
from itertools import pairwise

from household import DATA, House, Load, levels, make_house, read_nilm_csv, reported_on_change
from hypothesis import HealthCheck, given, settings, strategies as st
import numpy as np
import pytest

from custom_components.nilm.engine import Engine

LOADS = [
    Load("kettle", 2000.0, 20.0, (90.0, 240.0), 4),
    Load("fridge", 120.0, 90.0, (600.0, 1200.0), 4),
    Load("heater", 1500.0, 0.0, (600.0, 1800.0), 2),
    Load("microwave", 1100.0, 300.0, (60.0, 300.0), 3),
]
HOURS = 4


def _labeled(house: House) -> tuple[Engine, int]:
    """An engine that saw the first third of the house and has one label per appliance that switched."""
    engine = Engine()
    split = house.t.size // 3
    events = engine.feed_arrays(house.t[:split], house.p[:split], q=house.q[:split]).events
    named: set[float] = set()
    for event in events:
        size = round(abs(event.dp), -2)
        if event.kind == "on" and size not in named:
            named.add(size)
            engine.label_event(event.id, f"load {size:.0f} W")
    return engine, split


def _feed(
    engine: Engine, house: House, start: int, cuts: list[int]
) -> tuple[list[tuple[object, ...]], dict[str, np.ndarray]]:
    """Feed rows [start, end) cut into batches; the events and each appliance's power per row."""
    events: list[tuple[object, ...]] = []
    powers: dict[str, np.ndarray] = {}
    n = house.t.size - start
    bounds = [0, *sorted({c for c in cuts if 0 < c < n}), n]
    for a, b in pairwise(bounds):
        rows = slice(start + a, start + b)
        column: dict[str, np.ndarray] = {}
        update = engine.feed_arrays(house.t[rows], house.p[rows], q=house.q[rows], powers=column)
        # Levels are running means: the last bits of a step differ with where the batches start.
        events += [
            (e.id, e.t, round(e.dp, 6), e.kind, e.status, e.appliance_id, e.state)
            for e in update.events
        ]
        events += [("revised", e.id, e.status, e.appliance_id) for e in update.revised]
        for appliance_id, values in column.items():
            powers.setdefault(appliance_id, np.zeros(n))[a:b] = values
        # Readings of earlier calls that a step confirmed in this one covers.
        for appliance_id, values in update.backfill.items():
            powers.setdefault(appliance_id, np.zeros(n))[a - values.size : a] = values
    return events, powers


def _real_meter() -> House:
    """A day of a real whole-house meter that reports P and Q on change (gaps of up to an hour included)."""
    _, rows = read_nilm_csv(DATA / "gjw_change_only_day.csv")
    return House(rows[:, 0], rows[:, 1], rows[:, 2])


HOUSES = {
    "1 s": make_house(LOADS, HOURS * 3600, seed=11),
    "60 s": make_house(LOADS, HOURS * 3600 * 6, seed=12, period_s=60.0),
    "reported on change": reported_on_change(make_house(LOADS, HOURS * 3600, seed=13)),
    "real meter reporting on change": _real_meter(),
}


def _logged(engine: Engine) -> list[tuple[object, ...]]:
    """The stored events as they finally stand."""
    return [
        (e.id, e.t, round(e.dp, 6), e.kind, e.status, e.appliance_id, e.state)
        for e in engine.events("all")
    ]


@pytest.mark.parametrize("name", list(HOUSES))
def test_one_reading_at_a_time_or_all_at_once(name: str) -> None:
    house = HOUSES[name]
    engine, split = _labeled(house)
    assert engine.appliances, "the house must give the engine something to name"
    single = copy.deepcopy(engine)
    whole_events, whole_powers = _feed(engine, house, split, [])
    events, powers = _feed(single, house, split, list(range(house.t.size)))
    # An inrush that settles in a later call revises its ON there; in one call it is reported settled.
    revised = {e[1] for e in events if e[0] == "revised"}
    assert [e for e in events if e[0] != "revised" and e[0] not in revised] == [
        e for e in whole_events if e[0] != "revised" and e[0] not in revised
    ]
    assert _logged(single) == _logged(engine)
    assert sorted(powers) == sorted(whole_powers)
    for appliance_id, column in whole_powers.items():
        np.testing.assert_allclose(powers[appliance_id], column, atol=1e-6)
    now, then = single.snapshot().appliances, engine.snapshot().appliances
    assert [(a.on, a.state, a.last_event_id) for a in now.values()] == [
        (a.on, a.state, a.last_event_id) for a in then.values()
    ]
    assert single.ledger.energy_kwh == pytest.approx(engine.ledger.energy_kwh)
    assert single.ledger.unidentified_kwh == pytest.approx(engine.ledger.unidentified_kwh)
    assert single.baseload_w == pytest.approx(engine.baseload_w)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(min_value=2, max_value=200), offset=st.integers(min_value=0, max_value=199))
def test_any_batching_gives_the_same_powers(size: int, offset: int) -> None:
    """Batches of any size, starting anywhere (a webhook's few seconds, a sensor's backlog)."""
    house = HOUSES["1 s"]
    engine, split = _labeled(house)
    other = copy.deepcopy(engine)
    _, whole = _feed(engine, house, split, [])
    _, batched = _feed(other, house, split, list(range(offset % size, house.t.size, size)))
    assert sorted(batched) == sorted(whole)
    for appliance_id, column in whole.items():
        np.testing.assert_allclose(batched[appliance_id], column, atol=1e-6)


def test_a_fall_at_a_calls_last_reading_counts_that_reading_first() -> None:
    """A kettle went off just before the meter dropped out (two low readings, no step yet): the first reading
    after the gap re-anchors the level and ends the kettle once its own interval is counted, whether the
    next reading comes in the same call or the next."""
    engine = Engine()
    t, p, _ = levels((100, 20), (2200, 40))
    (on,) = engine.feed_arrays(t, p).events
    engine.label_event(on.id, "kettle")
    after = np.concatenate([t[-1] + 1 + np.arange(2.0), t[-1] + 700 + np.arange(5.0)])
    low = np.full(after.size, 100.0)
    single = copy.deepcopy(engine)
    engine.feed_arrays(after, low)
    for k in range(after.size):
        single.feed_arrays(after[k : k + 1], low[k : k + 1])
    assert not single.snapshot().appliances[on.appliance_id or ""].on
    assert single.ledger.energy_kwh == pytest.approx(engine.ledger.energy_kwh, rel=1e-9)
