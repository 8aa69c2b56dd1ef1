"""Property tests: any stream is safe, energy never decreases, powers stay under the mains, state round-trips."""

from __future__ import annotations

import json
import math

from hypothesis import HealthCheck, example, given, settings, strategies as st
import numpy as np

from custom_components.nilm.engine import Engine, EngineConfig, Sample

T0 = 1_700_000_000.0

values = st.one_of(
    st.floats(min_value=-5000.0, max_value=30000.0),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 2000.0, 1e12]),
)
optional = st.one_of(st.none(), values)
samples = st.lists(
    st.builds(
        Sample,
        t=st.one_of(
            st.floats(min_value=0.0, max_value=4000.0).map(lambda x: T0 + x),
            st.sampled_from([math.nan, math.inf, T0, T0 + 1000.0]),
        ),
        p=values,
        q=optional,
        i=optional,
        v=optional,
        pf=optional,
    ),
    max_size=60,
)
# A stream of steady levels with gaps, so that events happen and get labeled; 3 and 7 s readings reach
# what only coarser meters do (a pulse's edge hidden in another step).
levels = st.lists(
    st.tuples(
        st.sampled_from([100.0, 150.0, 1100.0, 2100.0, 2300.0, 3200.0]),
        st.integers(min_value=1, max_value=40),
        st.sampled_from([1.0, 1.0, 3.0, 7.0, 400.0]),
    ),
    min_size=1,
    max_size=25,
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _stream(spec: list[tuple[float, int, float]]) -> tuple[np.ndarray, np.ndarray]:
    t, p, now = [], [], T0
    for power, count, step in spec:
        for _ in range(count):
            now += step
            t.append(now)
            p.append(power)
    return np.array(t), np.array(p)


@FAST
@given(st.lists(samples, max_size=4))
def test_any_samples_never_raise(batches: list[list[Sample]]) -> None:
    engine = Engine()
    for batch in batches:
        update = engine.feed(batch)
        assert update.accepted + update.dropped == len(batch)
        snap = engine.snapshot()
        assert snap.unidentified_w >= 0.0
        assert math.isfinite(snap.baseload_w)


@FAST
@given(levels, st.integers(min_value=1, max_value=50), st.data())
def test_energy_monotone_and_powers_under_mains(
    spec: list[tuple[float, int, float]], batch: int, data: st.DataObject
) -> None:
    engine = Engine(EngineConfig(price_per_kwh=0.25))
    t, p = _stream(spec)
    names = ["kettle", "heater", "washer"]
    previous: dict[str, float] = {}
    previous_unidentified = 0.0
    for start in range(0, t.size, batch):
        update = engine.feed_arrays(t[start : start + batch], p[start : start + batch])
        for event in update.events:
            if data.draw(st.booleans()):
                engine.label_event(event.id, data.draw(st.sampled_from(names)))
        snap = engine.snapshot()
        assert snap.mains_w is not None
        assert sum(a.power_w for a in snap.appliances.values()) <= max(0.0, snap.mains_w) + 1e-6
        for appliance_id, view in snap.appliances.items():
            assert view.energy_kwh >= previous.get(appliance_id, 0.0)
            assert view.power_w >= 0.0
            previous[appliance_id] = view.energy_kwh
        assert snap.unidentified_energy_kwh >= previous_unidentified
        previous_unidentified = snap.unidentified_energy_kwh


@FAST
@given(levels, st.data())
def test_state_round_trips(spec: list[tuple[float, int, float]], data: st.DataObject) -> None:
    engine = Engine()
    t, p = _stream(spec)
    for event in engine.feed_arrays(t, p).events:
        if data.draw(st.booleans()):
            engine.label_event(event.id, data.draw(st.sampled_from(["a", "b"])))
    state = engine.to_dict()
    restored = Engine.from_dict(json.loads(json.dumps(state)))
    assert restored.to_dict() == state


@FAST
@given(levels, st.integers(min_value=1, max_value=50), st.data())
def test_labels_at_any_time_keep_the_invariants(
    spec: list[tuple[float, int, float]], batch: int, data: st.DataObject
) -> None:
    """Labels, relabels and ignores of any stored event, late or early, as users give them from the card."""
    engine = Engine()
    t, p = _stream(spec)
    previous: dict[str, float] = {}
    for start in range(0, t.size, batch):
        engine.feed_arrays(t[start : start + batch], p[start : start + batch])
        stored = engine.events("all")
        for _ in range(data.draw(st.integers(min_value=0, max_value=3)) if stored else 0):
            event = data.draw(st.sampled_from(stored))
            if data.draw(st.integers(min_value=0, max_value=5)) == 0:
                engine.ignore_event(event.id)
            else:
                name = data.draw(st.sampled_from(["kettle", "heater", "washer"]))
                state = data.draw(st.sampled_from([None, None, "heat"]))
                engine.label_event(event.id, name, state)
        snap = engine.snapshot()
        assert (
            sum(a.power_w for a in snap.appliances.values()) <= max(0.0, snap.mains_w or 0.0) + 1e-6
        )
        for appliance_id, view in snap.appliances.items():
            assert view.energy_kwh >= previous.get(appliance_id, 0.0)
            previous[appliance_id] = view.energy_kwh
        # An event's kind is the way its step went, also for a step named anew as what it held beside a
        # pulse's edge.
        assert all((event.kind == "on") == (event.dp > 0) for event in engine.events("all"))
        # Whatever runs started at a reading the engine saw, and is filed under its own state.
        for key, component in engine.tracker.active.items():
            assert component.since <= t[-1]
            assert key == (component.appliance_id, component.state)
    state = engine.to_dict()
    assert Engine.from_dict(json.loads(json.dumps(state))).to_dict() == state


# Runs of one size, some long (a toaster's), some short (a coffee maker's pulses), some labeled: what a
# handover of a long run to its look-alike is made of.
look_alike_runs = st.lists(
    st.tuples(
        st.sampled_from([4, 5, 8, 60, 120, 150]),
        st.sampled_from([10, 30, 400]),
        st.sampled_from([None, None, "toaster", "coffee maker"]),
    ),
    min_size=4,
    max_size=16,
)


@FAST
@given(look_alike_runs, st.integers(min_value=2, max_value=400))
def test_runs_judged_again_are_the_same_whatever_the_batches(
    runs: list[tuple[int, int, str | None]], batch: int
) -> None:
    """Labels come while the first half is fed a reading at a time (each ON as it is seen); the rest, where
    a long run may pass to its look-alike at its own reading, is fed in batches of any size."""
    t, p, labels = [], [], []
    now = T0
    for seconds, gap, name in runs:
        for power, count in ((100.0, gap), (800.0, seconds)):
            for _ in range(count):
                now += 1.0
                t.append(now)
                p.append(power)
        labels.append(name)
    t_arr, p_arr = np.array(t), np.array(p)
    half = t_arr.size // 2

    def replay(size: int) -> list[tuple[str, str | None, str | None, str]]:
        engine = Engine()
        ons = 0
        for k in range(half):
            for event in engine.feed_arrays(t_arr[k : k + 1], p_arr[k : k + 1]).events:
                if event.kind == "on" and labels[ons] is not None:
                    engine.label_event(event.id, labels[ons] or "")
                ons += event.kind == "on"
        for start in range(half, t_arr.size, size):
            engine.feed_arrays(t_arr[start : start + size], p_arr[start : start + size])
            snap = engine.snapshot()
            assert (
                sum(a.power_w for a in snap.appliances.values())
                <= max(0.0, snap.mains_w or 0.0) + 1e-6
            )
        return [(e.id, e.appliance_id, e.state, e.status) for e in engine.events("all")]

    assert replay(batch) == replay(1)


# A washer's drum and a lamp switching at any 3 s reading, after one labeled run of each: the drum's edges and
# the lamp's often fall in one reading, which is what names a step anew by what it held beside a pulse's edge.
drum_and_lamp = st.lists(
    st.tuples(st.booleans(), st.booleans(), st.integers(min_value=1, max_value=8)),
    min_size=4,
    max_size=30,
)


@FAST
@given(drum_and_lamp, st.integers(min_value=2, max_value=60))
# The drum's OFF with the lamp's ON in one reading, then the drum again; the drum's ON with the lamp's OFF.
@example(
    [
        (True, False, 5),
        (False, True, 5),
        (True, True, 5),
        (False, True, 5),
        (True, False, 5),
        (False, False, 5),
    ],
    7,
)
def test_steps_named_anew_are_the_same_whatever_the_batches(
    segments: list[tuple[bool, bool, int]], batch: int
) -> None:
    """Whatever steps are named anew as what they held beside the drum's edge, a replay in batches of any
    size names them as one fed a reading at a time, every event's kind is the way its step went, and the
    appliances never hold more than the mains."""
    labeled = [(200.0, 10), (370.0, 6), (200.0, 6), (260.0, 6), (200.0, 6), (500.0, 6)]
    spec = [*labeled, *((500.0 + 170.0 * drum + 60.0 * lamp, n) for drum, lamp, n in segments)]
    t, p = _stream([(power, count, 3.0) for power, count in spec])

    def replay(size: int) -> list[tuple[str, str, float, str | None, str]]:
        """The labeled runs a reading at a time (their ON and OFF named as seen), the rest in batches."""
        engine = Engine()
        names = iter(["washer", "washer", "lamp", "lamp"])
        for k in range(34):
            for event in engine.feed_arrays(t[k : k + 1], p[k : k + 1]).events:
                engine.label_event(event.id, next(names))
        for start in range(34, t.size, size):
            engine.feed_arrays(t[start : start + size], p[start : start + size])
            snap = engine.snapshot()
            assert (
                sum(a.power_w for a in snap.appliances.values())
                <= max(0.0, snap.mains_w or 0.0) + 1e-6
            )
        events = engine.events("all")
        assert all((event.kind == "on") == (event.dp > 0) for event in events)
        return [(e.id, e.kind, round(e.dp, 6), e.appliance_id, e.status) for e in events]

    assert replay(batch) == replay(1)
