"""The Engine facade: feeding, labeling, identification, tracking, appliances, learn mode and energy."""

from __future__ import annotations

from household import T0, levels
import numpy as np
import pytest

from custom_components.nilm.engine import (
    Appliance,
    Engine,
    EngineConfig,
    Event,
    InvalidNameError,
    NilmError,
    Sample,
    UnknownApplianceError,
    UnknownEventError,
    UnknownGroupError,
)
from custom_components.nilm.engine.eventlog import MAX_KEPT_EVENTS
from custom_components.nilm.engine.tracker import DEFAULT_MAX_ON_S


def test_feed_samples_detects_events_and_counts_bad_input() -> None:
    engine = Engine()
    samples = [Sample(T0 + k, 100.0) for k in range(10)] + [
        Sample(T0 + 10 + k, 1100.0, q=5.0) for k in range(10)
    ]
    # Out of order, not a number, beyond any household meter (a decoding fault): dropped and counted.
    samples += [Sample(T0 + 5, 50.0), Sample(T0 + 30, float("nan")), Sample(T0 + 31, 4.0e9)]
    update = engine.feed(samples)
    assert [round(e.dp) for e in update.events] == [1000]
    assert update.accepted == 20
    assert update.dropped == 3
    assert engine.feed([]).accepted == 0
    event = update.events[0]
    assert event.kind == "on"
    assert event.status == "unidentified"
    assert engine.snapshot().pending_count == 1
    assert engine.events("pending")[0].id == event.id


def test_a_clock_fault_does_not_block_later_readings() -> None:
    """A timestamp centuries ahead is dropped, not taken as the newest reading."""
    engine = Engine()
    update = engine.feed(
        [
            Sample(1e300, 5.0),
            Sample(-5.0, 3.0),
            Sample(T0, 100.0),
            Sample(T0, 7.0),
            Sample(T0 + 1, 90.0),
        ]
    )
    assert (update.accepted, update.dropped) == (2, 3)
    assert engine.snapshot().mains_w == 90.0


def test_mismatched_columns_raise() -> None:
    with pytest.raises(ValueError, match="same length"):
        Engine().feed_arrays([1.0, 2.0], [1.0])


def test_paired_off_seen_before_the_label_is_identified_then() -> None:
    """An ON labeled after its OFF was seen: the OFF is paired when the label arrives."""
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 60), (100, 30))
    on, off = engine.feed_arrays(t, p).events
    kettle = engine.label_event(on.id, "kettle")
    assert not kettle.on
    assert (off.status, off.appliance_id) == ("identified", kettle.id)


def _with_toaster() -> tuple[Engine, float]:
    """An engine that saw one labeled 700 W toaster run; and the time after it."""
    engine = Engine()
    t, p, _ = levels((100, 20), (800, 60), (100, 20))
    engine.label_event(engine.feed_arrays(t, p).events[0].id, "toaster")
    return engine, t[-1] + 1


def test_confirming_an_on_after_its_off_does_not_switch_it_on_again() -> None:
    """The user labels an ON the engine had named, after its OFF: the run is over, the appliance off."""
    engine, t0 = _with_toaster()
    t, p, _ = levels((100, 20), (800, 60), (100, 20), t0=t0)
    on, off = engine.feed_arrays(t, p).events
    toaster = engine.label_event(on.id, "toaster")
    assert not toaster.on
    assert (off.status, off.appliance_id) == ("identified", toaster.id)


def test_correcting_an_on_after_its_off_moves_the_off_along() -> None:
    """An ON taken for the toaster is the coffee maker's: so is the OFF that ended it, and the toaster is off."""
    engine, t0 = _with_toaster()
    t, p, _ = levels((100, 20), (800, 8), (100, 20), (800, 30), t0=t0)
    on, off, next_on = engine.feed_arrays(t, p).events
    toaster = next_on.appliance_id
    coffee = engine.label_event(on.id, "coffee maker")
    assert (off.status, off.appliance_id) == ("identified", coffee.id)
    assert not coffee.on
    # The next pulse, still on, was named the toaster; the correction does not end it.
    assert engine.snapshot().appliances[toaster].on
    # Labeled again as the coffee maker, its earlier run is ended and this one stays on.
    engine.label_event(next_on.id, "coffee maker")
    engine.label_event(on.id, "coffee maker")
    assert engine.snapshot().appliances[coffee.id].on
    assert not engine.snapshot().appliances[toaster].on


def test_an_off_the_user_named_keeps_its_name_when_its_on_is_relabeled() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (800, 60), (100, 20))
    on, off = engine.feed_arrays(t, p).events
    engine.label_event(on.id, "toaster")
    toaster = engine.label_event(off.id, "toaster")
    grill = engine.label_event(on.id, "grill")
    assert off.appliance_id == toaster.id
    # Its OFF is the toaster's in the user's words, so the grill's run has none of its own.
    assert grill.on


def test_one_label_creates_the_appliance_and_identifies_the_next_use() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 60), (100, 60), (2110, 60), (100, 30))
    update = engine.feed_arrays(t[:50], p[:50])
    on = update.events[0]
    kettle = engine.label_event(on.id, "Kettle")
    assert kettle.name == "Kettle"
    assert kettle.on
    assert kettle.power_w == pytest.approx(2000.0, abs=5.0)
    events = engine.feed_arrays(t[50:], p[50:]).events
    assert [(e.kind, e.status, e.appliance_id) for e in events] == [
        ("off", "identified", kettle.id),
        ("on", "identified", kettle.id),
        ("off", "identified", kettle.id),
    ]
    assert events[0].confidence > 0.6
    assert events[0].candidates[0][0] == kettle.id
    snap = engine.snapshot()
    assert not snap.appliances[kettle.id].on
    # Energy counts from the label on (30 s of the first use), then all 60 s of the second.
    assert snap.appliances[kettle.id].energy_kwh == pytest.approx(2000 * 90 / 3.6e6, rel=0.05)


def test_off_pairs_with_the_on_even_when_never_labeled() -> None:
    """Only ONs are labeled; OFFs are matched to the power the ON added (here a drifted one)."""
    engine = Engine()
    t, p, _ = levels((100, 20), (1100, 30), (100, 30), (1180, 40), (100, 30))
    first = engine.feed_arrays(t[:40], p[:40]).events[0]
    lamp = engine.label_event(first.id, "heater")
    events = engine.feed_arrays(t[40:], p[40:]).events
    off_first = events[0]
    assert (off_first.kind, off_first.appliance_id) == ("off", lamp.id)
    assert [e.status for e in events[1:]] == ["identified", "identified"]
    assert not engine.snapshot().appliances[lamp.id].on


def _four_unknown_runs() -> Engine:
    """An engine that saw a 1,200 W load nobody named run four times."""
    engine = Engine()
    segments = [(100, 20)]
    for _ in range(4):
        segments += [(1300, 20), (100, 20)]
    t, p, _ = levels(*segments)
    engine.feed_arrays(t, p)
    return engine


def test_unknown_step_stays_unidentified_and_groups() -> None:
    engine = _four_unknown_runs()
    groups = engine.groups()
    assert sorted(g.count for g in groups) == [4, 4]
    on_group = next(g for g in groups if g.mean_dp > 0)
    assert engine.label_group(on_group.id, "dryer") == 4
    assert len(engine.events("labeled")) == 4
    with pytest.raises(UnknownGroupError) as err:
        engine.label_group("nope", "dryer")
    assert err.value.key == "unknown_group"


def test_a_group_is_labeled_within_a_time_window() -> None:
    """Of a group of one size, only the events the user names by their time: the morning's, not the evening's."""
    engine = _four_unknown_runs()
    on_group = next(g for g in engine.groups() if g.mean_dp > 0)
    ons = sorted(engine.event_log.get(event_id).t for event_id in on_group.event_ids)
    assert engine.label_group(on_group.id, "dryer", since=ons[1], until=ons[2]) == 2
    labeled = sorted(e.t for e in engine.events("labeled"))
    assert labeled == ons[1:3]
    # What is left of the group stays to be named; a window holding none of it names nothing.
    rest = next(g for g in engine.groups() if g.mean_dp > 0)
    assert rest.count == 2
    assert engine.label_group(rest.id, "dryer", until=ons[0] - 1.0) == 0


def test_multi_state_appliance_learns_levels_from_plain_labels() -> None:
    """Labels without a state on steps of very different size become separate states of one appliance."""
    engine = Engine()
    cycle = ((100, 20), (2100, 30), (2300, 30), (2100, 30), (100, 30))
    t, p, _ = levels(*cycle, *cycle)
    events = engine.feed_arrays(t, p).events
    assert len(events) == 8
    for k in (0, 1, 5):
        washer = engine.label_event(events[k].id, "washer")
    assert washer.states == ["on", "on 2"]
    assert engine.signatures[(washer.id, "on 2")].count == 2
    t2, p2, _ = levels((100, 20), (2100, 30), (2300, 30), (100, 30), t0=t[-1] + 1)
    later = engine.feed_arrays(t2, p2).events
    assert [(e.state, e.status) for e in later] == [
        ("on", "identified"),
        ("on 2", "identified"),
        ("on", "identified"),
    ]
    # The last OFF ended both states at once.
    assert not engine.snapshot().appliances[washer.id].on


def test_a_state_is_steps_within_a_factor_and_states_are_bounded() -> None:
    """1,000 and 1,500 W are one heater state (within 1.8 times); 3,500 W is another; at most 8 states."""
    engine = Engine()
    t, p, _ = levels(*((w, 20) for on in (1100, 1600, 3600) for w in (100, on)), (100, 20))
    ons = [e for e in engine.feed_arrays(t, p).events if e.kind == "on"]
    for event in ons:
        engine.label_event(event.id, "heater")
    assert [e.state for e in ons] == ["on", "on", "on 2"]
    # A state is judged by its typical size, not its spread: 1,000 and 1,500 W made the heater's state wide
    # enough to admit 500 W, which is still a level of its own (a factor 2.6 below the state's 1,300 W).
    t3, p3, _ = levels((100, 20), (600, 20), (100, 20), t0=t[-1] + 1)
    (small, _) = engine.feed_arrays(t3, p3).events
    engine.label_event(small.id, "heater")
    assert small.state == "on 3"
    t = t3
    # Ten sizes, each twice the last: the ninth and tenth join the closest of the eight states.
    sizes = [60.0 * 2**k for k in range(10)]
    t2, p2, _ = levels(*((w, 20) for s in sizes for w in (100, 100 + s)), (100, 20), t0=t[-1] + 1)
    ons = [e for e in engine.feed_arrays(t2, p2).events if e.kind == "on"]
    thing = [engine.label_event(event.id, "thing") for event in ons][-1]
    assert len(thing.states) == 8
    assert [e.state for e in ons[-2:]] == ["on 8", "on 8"]


def test_labeled_level_changes_keep_the_appliance_on() -> None:
    """A labeled dip or rise of a running TV moves its level; only the full fall switches it off."""
    engine = Engine()
    t, p, _ = levels((50, 20), (200, 30), (140, 30), (180, 30), (50, 30))

    def next_event(k: int) -> str:
        # Fed as it happens: each step is labeled before the next one arrives.
        return engine.feed_arrays(t[k : k + 30], p[k : k + 30]).events[0].id

    tv = engine.label_event(next_event(0), "tv")

    def tv_power() -> float:
        return engine.tracker.appliance_powers().get(tv.id, (0.0, ""))[0]

    dim = next_event(30)
    engine.label_event(dim, "tv")
    assert tv_power() == pytest.approx(90.0)
    # Relabeling the dip takes its level change back.
    engine.label_event(dim, "lamp")
    assert tv_power() == pytest.approx(150.0)
    engine.label_event(dim, "tv")
    engine.label_event(next_event(60), "tv")
    assert tv_power() == pytest.approx(130.0)
    assert engine.events("labeled")[0].state == "on"
    # Level changes teach no state: the TV has one, learned from its ON alone.
    assert engine.snapshot().appliances[tv.id].states == ["on"]
    assert engine.signatures[(tv.id, "on")].count == 1
    engine.label_event(next_event(90), "tv")
    assert tv_power() == 0.0
    assert engine.signatures[(tv.id, "on")].count == 2


def test_a_labeled_rise_back_to_a_dimmed_state_s_level_raises_it() -> None:
    """A TV on at 100 W dims to 40 W and brightens by 60 W, each step labeled tv: the rise is more than
    half of what runs, yet the mains before it held the TV, so it raises its level back to 100 W instead
    of taking it for the TV's missed OFF and a new 60 W ON."""
    engine = Engine()
    t, p, _ = levels((50, 20), (150, 30), (90, 30), (150, 30))
    on, dim, brighter = engine.feed_arrays(t, p).events
    tv = engine.label_event(on.id, "tv")
    engine.label_event(dim.id, "tv")
    assert engine.tracker.appliance_powers()[tv.id][0] == pytest.approx(40.0)
    engine.label_event(brighter.id, "tv")
    assert engine.tracker.appliance_powers()[tv.id][0] == pytest.approx(100.0)
    assert brighter.state == "on"
    # A level change teaches no state.
    assert engine.signatures[(tv.id, "on")].count == 1


def test_a_labeled_rise_of_a_known_state_that_is_off_is_an_on() -> None:
    """A washer's drum starting while its heater runs is the drum's ON, not a level change."""
    engine = Engine()
    t, p, _ = levels((50, 20), (250, 30), (50, 30), (2250, 30), (2450, 30))
    drum_on, drum_off, heater_on, drum_again = engine.feed_arrays(t, p).events
    for event in (drum_on, drum_off, heater_on):
        washer = engine.label_event(event.id, "washer")
    engine.label_event(drum_again.id, "washer")
    assert {c.state for c in engine.tracker.running(washer.id, t[-1] + 1)} == {"on", "on 2"}


def test_the_off_of_an_unidentified_load_does_not_end_a_lookalike() -> None:
    """Four 600 W look-alikes: an ON among them stays unidentified, and its OFF ends that load, not B."""
    engine = Engine()
    base = [(100, 20)]
    for _ in range(4):
        base += [(700, 30), (100, 30)]
    t, p, _ = levels(*base, (700, 30), (1340, 30), (700, 30), (1340, 30), (740, 30), (100, 30))
    first = engine.feed_arrays(t[:250], p[:250]).events
    for event, name in zip(first[::2], "bcde", strict=True):
        engine.label_event(event.id, name)
    b = engine.label_event(engine.feed_arrays(t[250:280], p[250:280]).events[0].id, "b")
    on, off = engine.feed_arrays(t[280:340], p[280:340]).events
    assert on.status == off.status == "unidentified"
    assert not engine.tracker.unknown
    assert engine.snapshot().appliances[b.id].on
    # With the load on again, B's own OFF still goes to B; the unknown load is no candidate to show.
    on, b_off, off = engine.feed_arrays(t[340:], p[340:]).events
    assert (b_off.appliance_id, b_off.status) == (b.id, "identified")
    assert {c[0] for c in b_off.candidates} == {b.id}
    assert off.status == "unidentified"
    assert not engine.tracker.unknown


def test_unknown_loads_are_dropped_by_the_mains_and_taken_back_by_labels() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (900, 30))
    unknown = engine.feed_arrays(t, p).events[0]
    assert list(engine.tracker.unknown) == [unknown.id]
    # The mains falls back without a clean OFF step: the load cannot still be on.
    ramp = np.concatenate([np.linspace(900, 100, 400), np.full(30, 100.0)])
    t2 = t[-1] + 1 + np.arange(ramp.size, dtype=float)
    engine.feed_arrays(t2, ramp)
    assert not engine.tracker.unknown
    t3, p3, _ = levels((900, 30), t0=t2[-1] + 1)
    again = engine.feed_arrays(t3, p3).events[0]
    assert list(engine.tracker.unknown) == [again.id]
    engine.label_event(again.id, "heater")
    assert not engine.tracker.unknown
    assert engine.snapshot().appliances[again.appliance_id or ""].on


def test_label_with_explicit_state_and_relabel() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (600, 30), (100, 30))
    on, off = engine.feed_arrays(t, p).events
    engine.label_event(on.id, "fan", state="high")
    fan = engine.label_event(off.id, "fan", state="high")
    assert fan.states == ["on", "high"]
    assert engine.events("labeled")[0].state == "high"
    # Relabeling moves the event to another appliance and its signature with it.
    heater = engine.label_event(on.id, "heater")
    assert {e.appliance_id for e in engine.events("labeled")} == {fan.id, heater.id}
    engine.ignore_event(off.id)
    assert engine.events("all")[0].status == "ignored"
    with pytest.raises(UnknownEventError) as err:
        engine.ignore_event("e999")
    assert err.value.key == "unknown_event"


def test_relabeling_a_wrong_identification_undoes_its_switch() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (1000, 30), (100, 30), (1010, 30))
    first = engine.feed_arrays(t[:40], p[:40]).events[0]
    heater = engine.label_event(first.id, "heater")
    events = engine.feed_arrays(t[40:], p[40:]).events
    assert events[1].appliance_id == heater.id
    iron = engine.label_event(events[1].id, "iron")
    snap = engine.snapshot()
    assert not snap.appliances[heater.id].on
    assert snap.appliances[iron.id].on


def test_joint_off_ends_two_appliances() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 20), (4000, 20), (100, 30))
    on_a, on_b, off = engine.feed_arrays(t, p).events
    engine.label_event(on_a.id, "kettle")
    engine.label_event(on_b.id, "vacuum")
    assert off.status == "unidentified"
    t2, p2, _ = levels((100, 20), (2100, 20), (4000, 20), (100, 30), t0=t[-1] + 1)
    events = engine.feed_arrays(t2, p2).events
    # One OFF event per appliance, at the same moment, sharing the step as their ONs added.
    off_kettle, off_vacuum = events[2:]
    names = {a.id: a.name for a in engine.snapshot().appliances.values()}
    assert [names[e.appliance_id or ""] for e in (off_kettle, off_vacuum)] == ["kettle", "vacuum"]
    assert off_kettle.t == off_vacuum.t
    assert off_kettle.status == off_vacuum.status == "identified"
    assert off_kettle.dp + off_vacuum.dp == pytest.approx(-3900.0, abs=5.0)
    assert off_kettle.dp == pytest.approx(-2000.0, abs=60.0)
    assert not any(a.on for a in engine.snapshot().appliances.values())
    # Relabeling one part as something else reopens only what that part had ended.
    engine.label_event(off_vacuum.id, "iron")
    snap = engine.snapshot()
    assert snap.appliances[off_vacuum.appliance_id or ""].name == "iron"
    assert [a.name for a in snap.appliances.values() if a.on] == ["vacuum"]


@pytest.mark.parametrize(("period_s", "ended"), [(1.0, ["heater"]), (60.0, ["kettle", "toaster"])])
def test_two_loads_ending_in_one_reading_is_likelier_the_longer_the_reading(
    period_s: float, ended: list[str]
) -> None:
    """A 3,420 W fall with a 2,000 W kettle, a 1,500 W toaster and a 3,000 W heater on: the pair fits it
    better, but within one second two loads seldom end; within a minute they often do."""
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 20), (3600, 20), (6600, 20), period_s=period_s)
    for event, name in zip(
        engine.feed_arrays(t, p).events, ("kettle", "toaster", "heater"), strict=True
    ):
        engine.label_event(event.id, name)
    t2, p2, _ = levels((6600, 5), (3180, 20), t0=t[-1] + period_s, period_s=period_s)
    events = engine.feed_arrays(t2, p2).events
    names = {a.id: a.name for a in engine.snapshot().appliances.values()}
    assert sorted(names[e.appliance_id or ""] for e in events) == ended
    assert all(e.status == "identified" for e in events)


def test_at_1_s_an_off_no_state_explains_ends_two_only_if_the_mains_lost_them() -> None:
    """A drum on since hours (its unidentified ON long forgotten), then a TV and a fridge labeled on: the
    drum's 160 W OFF is the TV and the fridge together by size, but within one second two loads seldom end and
    the mains after it still holds both, so they stay on. A fall the mains cannot hold them after ends both."""
    engine = Engine()
    t, p, _ = levels((300, 30), (460, int(DEFAULT_MAX_ON_S) + 60), (550, 60), (620, 60))
    *_, tv_on, fridge_on = engine.feed_arrays(t, p).events
    tv = engine.label_event(tv_on.id, "tv")
    fridge = engine.label_event(fridge_on.id, "fridge")
    t2, p2, _ = levels((620, 5), (460, 60), t0=t[-1] + 1)
    (drum_off,) = engine.feed_arrays(t2, p2).events
    assert drum_off.status == "unidentified"
    assert engine.snapshot().appliances[tv.id].on
    assert engine.snapshot().appliances[fridge.id].on
    t3, p3, _ = levels((460, 5), (300, 60), t0=t2[-1] + 1)
    both = engine.feed_arrays(t3, p3).events
    assert {e.appliance_id for e in both} == {tv.id, fridge.id}
    assert not any(a.on for a in engine.snapshot().appliances.values())


def test_labeled_joint_off_ends_the_rest_too() -> None:
    # Learn mode labels the joint OFF before the mains recheck could end anything: the label alone must.
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 20), (4000, 20), (100, 30))
    on_a, on_b = engine.feed_arrays(t[:50], p[:50]).events
    kettle = engine.label_event(on_a.id, "kettle")
    vacuum = engine.label_event(on_b.id, "vacuum")
    engine.start_learning("kettle", now=t[49])
    (off,) = engine.feed_arrays(t[50:], p[50:]).events
    assert off.status == "labeled"
    snap = engine.snapshot()
    assert not snap.appliances[kettle.id].on
    assert not snap.appliances[vacuum.id].on
    # Ended by the label's rest (1.9 kW, the vacuum's), not found stale by a recheck.
    assert snap.appliances[vacuum.id].confidence == 1.0
    # The joint step did not teach the kettle a 3.9 kW signature.
    assert engine.signatures[(kettle.id, "on")].power() == pytest.approx(2000.0, abs=5.0)


def test_a_labeled_off_of_a_state_s_own_size_ends_it_alone_after_labeled_dips() -> None:
    """A washer labeled on at 200 W, a dip labeled washer (tracked at 100 W since), its level back up, and
    its OFF labeled: -200 W is what its labels say it adds, so the fridge on beside it stays on (the rest
    above the 100 W tracked is not the fridge's OFF)."""
    engine = Engine()
    t, p, _ = levels((50, 20), (150, 30), (350, 30), (250, 30), (350, 30), (150, 30))
    fridge_on, washer_on, dip, _rise = engine.feed_arrays(t[:120], p[:120]).events
    fridge = engine.label_event(fridge_on.id, "fridge")
    washer = engine.label_event(washer_on.id, "washer")
    engine.label_event(dip.id, "washer")
    assert engine.tracker.appliance_powers()[washer.id][0] == pytest.approx(100.0)
    engine.start_learning("washer", now=t[119])
    (off,) = engine.feed_arrays(t[120:], p[120:]).events
    assert (off.status, off.appliance_id) == ("labeled", washer.id)
    snap = engine.snapshot()
    assert not snap.appliances[washer.id].on
    assert snap.appliances[fridge.id].on
    assert [round(e.power_w) for e in engine.signatures[(washer.id, "on")].entries] == [200, 200]


def test_an_off_with_nothing_running_teaches_the_signature() -> None:
    engine = Engine()
    t, p, _ = levels((900, 20), (100, 30))
    (off,) = engine.feed_arrays(t, p).events
    toaster = engine.label_event(off.id, "toaster")
    assert engine.signatures[(toaster.id, "on")].power() == pytest.approx(800.0)


def test_mains_recheck_ends_a_state_whose_off_was_missed() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 30), (100, 30))
    (on,) = engine.feed_arrays(t[:50], p[:50]).events
    kettle = engine.label_event(on.id, "kettle")
    # The OFF arrives as a slow decline that is never a clean step; the level check still ends it.
    ramp = np.linspace(2100, 100, 400)
    t2 = t[49] + 1 + np.arange(ramp.size + 30, dtype=float)
    engine.feed_arrays(t2, np.concatenate([ramp, np.full(30, 100.0)]))
    snap = engine.snapshot()
    assert not snap.appliances[kettle.id].on
    assert snap.appliances[kettle.id].confidence == 0.0


def _heater_drifting_to(end_w: float) -> tuple[Engine, str, Event, Event, float]:
    """A labeled 1 kW heater, then a run whose mains falls to end_w in 250 s (no step) before its OFF.

    Returns the engine, the heater's id, that run's ON and OFF events and the time after the run.
    """
    engine = Engine()
    t, p, _ = levels((100, 20), (1100, 60), (100, 30))
    heater = engine.label_event(engine.feed_arrays(t, p).events[0].id, "heater")
    p = np.concatenate([np.full(20, 100.0), np.linspace(1100.0, end_w, 250), np.full(30, 100.0)])
    t = t[-1] + 1 + np.arange(p.size, dtype=float)
    on, off = engine.feed_arrays(t, p).events
    return engine, heater.id, on, off, t[-1] + 1


def test_an_off_ends_a_load_whose_power_drifted_down() -> None:
    """A 1 kW element falls to 750 W as it heats (no step): its OFF of 750 W is still its OFF."""
    engine, heater, on, off, _ = _heater_drifting_to(850.0)
    assert [(e.status, e.appliance_id) for e in (on, off)] == [("identified", heater)] * 2
    assert off.dp == pytest.approx(-750.0, abs=10.0)
    # Ended by its OFF (with the confidence of that decision), not found stale by the mains recheck.
    assert not engine.snapshot().appliances[heater].on
    assert engine.snapshot().appliances[heater].last_event_id == off.id


def test_a_fall_beyond_a_drift_or_above_the_load_is_not_its_off() -> None:
    # Down by 34 % without a step: more than an element drifts. Its OFF of 660 W is not the heater's ...
    engine, heater, on, off, t0 = _heater_drifting_to(760.0)
    assert (on.appliance_id, off.status) == (heater, "unidentified")
    # ... and the mains, back at the baseload, ended it.
    assert not engine.snapshot().appliances[heater].on
    # An OFF of the heater and a load no label explains together is not the heater's alone.
    t, p, _ = levels((100, 20), (1100, 30), (1600, 30), (100, 30), t0=t0 + 399)
    on, unknown_on, off = engine.feed_arrays(t, p).events
    assert (on.appliance_id, unknown_on.status) == (heater, "unidentified")
    assert off.appliance_id != heater


def test_a_day_of_high_load_does_not_end_an_appliance_below_it() -> None:
    """Heating on all day sets a high baseload; once it stops, a heater below that level is still on."""
    engine = Engine()
    t, p, _ = levels((2000, 20), (3000, 30), (2000, 30))
    on = engine.feed_arrays(t, p).events[0]
    heater = engine.label_event(on.id, "heater")
    for hour in range(1, 24):
        engine.feed_arrays(t[-1] + 3600.0 * hour + np.arange(3600.0), np.full(3600, 2000.0))
    assert engine.snapshot().baseload_w == pytest.approx(2000.0)
    # The heating stops and the heater starts within one batch, as a replay feeds them.
    t2, p2, _ = levels((200, 30), (1200, 30), t0=t[-1] + 24 * 3600.0)
    events = engine.feed_arrays(t2, p2).events
    assert events[-1].appliance_id == heater.id
    assert engine.snapshot().appliances[heater.id].on


def test_a_state_times_out_at_its_own_row_within_a_batch() -> None:
    """A kettle that ran 2 minutes once, on for 15: after its timeout (5 minutes at least) it is off."""
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 120), (100, 30), (2100, 900), (100, 60))
    kettle = engine.label_event(engine.feed_arrays(t[:50], p[:50]).events[0].id, "kettle")
    assert engine.feed_arrays(t[50:170], p[50:170]).events[0].appliance_id == kettle.id
    powers: dict[str, np.ndarray] = {}
    later = engine.feed_arrays(t[170:], p[170:], powers=powers).events
    column = powers[kettle.id]
    assert later[0].appliance_id == kettle.id
    # Switched on at row 0 of this batch, timed out 300 s later (2.5 x 120 s is under the floor): exactly
    # the rows in between.
    assert np.flatnonzero(column > 0).tolist() == list(range(301))
    # The long load's own OFF ends the unknown load it became, not a kettle.
    assert later[1].status == "unidentified"
    assert not engine.tracker.unknown


def _labeled_run(engine: Engine, t: np.ndarray, p: np.ndarray, name: str) -> Appliance:
    """Feed one run and label its ON and OFF as `name`; returns the appliance."""
    on, off = engine.feed_arrays(t, p).events
    appliance = engine.label_event(on.id, name)
    engine.label_event(off.id, name)
    return appliance


def test_a_labeled_on_outlasts_its_states_short_runs() -> None:
    """A lamp seen once for 2 minutes times out after 5 (the floor); a lamp the user named stays on."""
    engine = Engine()
    t, p, _ = levels((100, 20), (160, 120), (100, 30), (160, 1200), (100, 60))
    lamp = _labeled_run(engine, t[:170], p[:170], "lamp")
    (on,) = engine.feed_arrays(t[170:200], p[170:200]).events
    assert on.appliance_id == lamp.id
    engine.feed_arrays(t[200:700], p[200:700])
    # Identified, not labeled: its 2-minute run times it out.
    assert not engine.snapshot().appliances[lamp.id].on
    engine.label_event(on.id, "lamp")
    engine.feed_arrays(t[700:1360], p[700:1360])
    assert engine.snapshot().appliances[lamp.id].on
    (off,) = engine.feed_arrays(t[1360:], p[1360:]).events
    assert off.appliance_id == lamp.id
    assert not engine.snapshot().appliances[lamp.id].on
    # Twenty minutes is the lamp's run length once the user says so, not on the engine's pairing alone.
    assert engine.tracker.longest_run_s[(lamp.id, "on")] == pytest.approx(120.0, abs=2)
    engine.label_event(off.id, "lamp")
    assert engine.tracker.longest_run_s[(lamp.id, "on")] == pytest.approx(1200.0, abs=2)


def test_a_labeled_on_still_ends_at_the_longest_default_run() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (160, 120), (100, 30))
    lamp = _labeled_run(engine, t, p, "lamp")
    t2, p2, _ = levels((100, 20), (160, 40), t0=t[-1] + 1)
    (again,) = engine.feed_arrays(t2, p2).events
    engine.label_event(again.id, "lamp")
    start = t2[-1] + 1
    engine.feed_arrays([start + DEFAULT_MAX_ON_S - 60], [160.0])
    assert engine.snapshot().appliances[lamp.id].on
    engine.feed_arrays([start + DEFAULT_MAX_ON_S + 60], [160.0])
    assert not engine.snapshot().appliances[lamp.id].on


def _tv_evening(off_w: float) -> tuple[Engine, Appliance, Event, Event]:
    """A labeled 95 W TV ON; a minute later a 110 W fall the engine takes for the TV's OFF (it is the
    fridge's, on since before); the TV's own OFF of `off_w` an hour later. Returns the engine, the TV,
    that fall and the TV's OFF, fed and not labeled."""
    engine = Engine()
    t, p, _ = levels((200, 20), (295, 60))
    tv = engine.label_event(engine.feed_arrays(t, p).events[0].id, "tv")
    t2, p2, _ = levels((185, 3600), (185 - off_w, 30), t0=t[-1] + 1)
    fall, tv_off = engine.feed_arrays(t2, p2).events
    assert (fall.appliance_id, tv_off.status) == (tv.id, "unidentified")
    return engine, tv, fall, tv_off


def test_labeling_an_off_later_reopens_a_run_another_off_had_ended() -> None:
    """The TV's OFF named by the user: the fall the engine had paired with the TV was someone else's."""
    engine, tv, fall, tv_off = _tv_evening(95)
    engine.label_event(tv_off.id, "tv")
    assert (fall.status, fall.appliance_id, fall.confidence) == ("unidentified", None, 0.0)
    assert all(c[0] != tv.id for c in fall.candidates)
    # The run the label ended is the TV's run length, not the minute the fall had given it.
    assert engine.tracker.longest_run_s[(tv.id, "on")] > 3600
    assert not engine.snapshot().appliances[tv.id].on


def test_a_run_is_reopened_only_for_its_own_size_and_an_off_the_user_did_not_name() -> None:
    engine, tv, fall, tv_off = _tv_evening(40)
    engine.label_event(tv_off.id, "tv")
    # A 40 W fall is not the end of a 95 W run: the fall keeps its name, the label teaches a level.
    assert (fall.status, fall.appliance_id) == ("identified", tv.id)
    engine, tv, fall, tv_off = _tv_evening(95)
    engine.label_event(fall.id, "tv")
    engine.label_event(tv_off.id, "tv")
    assert (fall.status, fall.appliance_id) == ("labeled", tv.id)


def test_a_run_is_not_reopened_past_a_later_switch_of_the_appliance() -> None:
    """After the fall, the TV came on again and faded out without a step: the labeled OFF ends neither."""
    engine = Engine()
    t, p, _ = levels((200, 20), (295, 60))
    tv = engine.label_event(engine.feed_arrays(t, p).events[0].id, "tv")
    t2, p2, _ = levels((185, 60), (280, 60), t0=t[-1] + 1)
    fall, again = engine.feed_arrays(t2, p2).events
    assert (fall.appliance_id, again.appliance_id) == (tv.id, tv.id)
    fade = np.concatenate([np.linspace(280, 185, 600), np.full(30, 185.0), np.full(30, 90.0)])
    t3 = t2[-1] + 1 + np.arange(fade.size, dtype=float)
    (off,) = engine.feed_arrays(t3, fade).events
    assert not engine.snapshot().appliances[tv.id].on
    engine.label_event(off.id, "tv")
    assert (fall.status, fall.appliance_id) == ("identified", tv.id)


def test_a_joint_off_gives_back_only_the_labeled_appliances_part() -> None:
    """A fall taken for the TV and the lamp together, and the TV's OFF labeled later: the TV's part of
    the fall is unexplained again, the lamp's stays."""
    engine = Engine()
    t, p, _ = levels((200, 20), (295, 60), (355, 60))
    tv_on, lamp_on = engine.feed_arrays(t, p).events
    tv = engine.label_event(tv_on.id, "tv")
    lamp = engine.label_event(lamp_on.id, "lamp")
    t2, p2, _ = levels((200, 600), (105, 30), t0=t[-1] + 1)
    *joint, tv_off = engine.feed_arrays(t2, p2).events
    by_appliance = {e.appliance_id: e for e in joint}
    assert set(by_appliance) == {tv.id, lamp.id}
    engine.label_event(tv_off.id, "tv")
    assert by_appliance[tv.id].status == "unidentified"
    assert by_appliance[lamp.id].status == "identified"


def test_an_off_that_ended_two_states_is_not_reopened_for_one() -> None:
    """A washer's heater and pump ended by one fall; a later pump-sized OFF labeled washer does not
    switch the heater back on."""
    engine = Engine()
    t, p, _ = levels((600, 20), (2600, 60), (600, 20), (1000, 60), (3000, 60))
    washer = _labeled_run(engine, t[:100], p[:100], "washer")
    (pump,) = engine.feed_arrays(t[100:160], p[100:160]).events
    engine.label_event(pump.id, "washer", "pump")
    (heater_again,) = engine.feed_arrays(t[160:], p[160:]).events
    assert heater_again.appliance_id == washer.id
    assert engine.snapshot().appliances[washer.id].on
    t2, p2, _ = levels((600, 600), (200, 30), t0=t[-1] + 1)
    both, off = engine.feed_arrays(t2, p2).events
    assert both.appliance_id == washer.id
    assert not engine.snapshot().appliances[washer.id].on
    engine.label_event(off.id, "washer")
    assert both.status == "identified"
    assert not engine.snapshot().appliances[washer.id].on


@pytest.mark.parametrize(("period_s", "learned"), [(1.0, True), (3.0, False)])
def test_a_labeled_off_larger_than_what_ran_teaches_the_full_step(
    period_s: float, learned: bool
) -> None:
    """A TV on before the readings began: its brightness rise (+40 W) was labeled, then its OFF (-140 W).
    Nothing else ran, so the TV runs at 140 W and its next ON is known; at 3 s the surplus may have been
    another load switching in the same reading, so the OFF teaches nothing."""
    engine = Engine()
    t, p, _ = levels((150, 30), (190, 30), (50, 60), (190, 30), period_s=period_s)
    brighter, off = engine.feed_arrays(t[:120], p[:120]).events
    tv = engine.label_event(brighter.id, "tv")
    engine.label_event(off.id, "tv")
    (on,) = engine.feed_arrays(t[120:], p[120:]).events
    assert on.dp == pytest.approx(140.0)
    assert (on.appliance_id == tv.id) is learned
    powers = [round(sig.power()) for (a, _), sig in engine.signatures.items() if a == tv.id]
    assert sorted(powers) == ([40, 140] if learned else [40])


def _drum_and_kettle(
    period_s: float, lamp_w: float = 0.0, *, label: bool = True
) -> tuple[Engine, Appliance | None]:
    """A washer's 170 W drum pulsing; its OFF falls in the reading where a 2 kW kettle switches on (+1,830 W),
    labeled kettle; then the drum's next ON, while the engine still has it on. With `lamp_w`, a lamp
    switches on between the drum's ON and the kettle. Without `label`, the kettle's step stays unnamed.
    Returns the engine and the kettle, if labeled."""
    engine = Engine()
    lamp = [(370 + lamp_w, 4)] if lamp_w else []
    t, p, _ = levels(
        (200, 10),
        (370, 4),
        (200, 4),
        (370, 4),
        *lamp,
        (2200 + lamp_w, 4),
        (2370 + lamp_w, 6),
        period_s=period_s,
    )
    _labeled_run(engine, t[:18], p[:18], "washer")
    stop = 26 + len(lamp) * 4
    *between, merged = engine.feed_arrays(t[18:stop], p[18:stop]).events
    assert merged.dp == pytest.approx(1830.0)
    if lamp_w:
        engine.label_event(between[-1].id, "lamp")
    kettle = engine.label_event(merged.id, "kettle") if label else None
    engine.feed_arrays(t[stop:], p[stop:])
    return engine, kettle


def test_a_pulse_edge_hidden_in_another_step_is_given_back() -> None:
    """At 3 s the drum's missing OFF was in the kettle's step: the kettle's own step is 2,000 W."""
    engine, kettle = _drum_and_kettle(3.0)
    assert kettle is not None
    assert [e.power_w for e in engine.signatures[(kettle.id, "on")].entries] == [2000.0]
    assert engine.tracker.active[(kettle.id, "on")].power_w == pytest.approx(2000.0)


def test_at_one_reading_a_second_a_missed_off_is_not_taken_for_a_hidden_edge() -> None:
    engine, kettle = _drum_and_kettle(1.0)
    assert kettle is not None
    assert [e.power_w for e in engine.signatures[(kettle.id, "on")].entries] == [1830.0]


def test_an_unnamed_step_keeps_what_it_measured() -> None:
    engine, _ = _drum_and_kettle(3.0, label=False)
    assert [load.power_w for load in engine.tracker.unknown.values()] == [pytest.approx(1830.0)]


def test_a_hidden_edge_is_looked_for_only_in_a_single_step() -> None:
    """A lamp switched on too: which of the two steps hid the drum's OFF is not known; neither changes."""
    engine, kettle = _drum_and_kettle(3.0, lamp_w=60.0)
    assert kettle is not None
    assert [e.power_w for e in engine.signatures[(kettle.id, "on")].entries] == [1830.0]
    lamp = next(a for a in engine.appliances.values() if a.name == "lamp")
    assert [e.power_w for e in engine.signatures[(lamp.id, "on")].entries] == [60.0]


def _kettle_then_drum(
    period_s: float, kettle_off_w: float
) -> tuple[Engine, Appliance, list[Event]]:
    """A labeled 170 W drum run and a labeled 2 kW kettle; the drum pulses during the kettle's run; the
    kettle's OFF falls to `kettle_off_w`, then a 170 W fall. Returns the engine, the washer and the events
    after the kettle's ON."""
    engine = Engine()
    t, p, _ = levels(
        (200, 10),
        (370, 4),
        (200, 4),
        (2200, 6),
        (2370, 4),
        (2200, 4),
        (kettle_off_w, 4),
        (kettle_off_w - 170, 6),
        period_s=period_s,
    )
    washer = _labeled_run(engine, t[:18], p[:18], "washer")
    (on,) = engine.feed_arrays(t[18:24], p[18:24]).events
    engine.label_event(on.id, "kettle")
    return engine, washer, engine.feed_arrays(t[24:], p[24:]).events


def test_a_pulse_on_hidden_in_another_off_names_the_pulse_off() -> None:
    """At 3 s the drum's ON fell in the kettle's OFF (-1,830 W): the drum's next OFF is the washer's, and a
    label of the kettle's OFF, given after that was found, learns 2,000 W."""
    engine, washer, events = _kettle_then_drum(3.0, 370.0)
    *_, kettle_off, drum_off = events
    assert kettle_off.dp == pytest.approx(-1830.0)
    assert (drum_off.appliance_id, drum_off.status) == (washer.id, "identified")
    kettle = engine.label_event(kettle_off.id, "kettle")
    assert [e.power_w for e in engine.signatures[(kettle.id, "on")].entries] == [2000.0, 2000.0]


@pytest.mark.parametrize("word", ["fridge", "washer", None])
def test_a_hidden_edge_stands_as_long_as_the_event_that_showed_it(word: str | None) -> None:
    """The user names the drum's OFF another appliance, or ignores it: no drum ON hid in the kettle's OFF,
    whose label then learns the step as read. Named the washer, the edge stands."""
    engine, _, events = _kettle_then_drum(3.0, 370.0)
    *_, kettle_off, drum_off = events
    if word is None:
        engine.ignore_event(drum_off.id)
    else:
        engine.label_event(drum_off.id, word)
    kettle = engine.label_event(kettle_off.id, "kettle")
    learned = [e.power_w for e in engine.signatures[(kettle.id, "on")].entries]
    assert learned == [2000.0, 2000.0 if word == "washer" else 1830.0]


def test_a_step_named_before_its_hidden_edge_was_taken_back_is_relearned() -> None:
    """The kettle labeled on its ON merged with the drum's OFF learned 2,000 W; the drum's next ON, which
    showed that, was the lamp's: the kettle's label is 1,830 W again and its running state too."""
    engine, kettle = _drum_and_kettle(3.0)
    assert kettle is not None
    drum_on = engine.events("all")[0]
    assert drum_on.dp == pytest.approx(170.0)
    engine.label_event(drum_on.id, "lamp")
    assert [e.power_w for e in engine.signatures[(kettle.id, "on")].entries] == [1830.0]
    assert engine.tracker.active[(kettle.id, "on")].power_w == pytest.approx(1830.0)


@pytest.mark.parametrize(
    ("period_s", "kettle_off_w"),
    [
        # One reading a second: two loads switching in one reading is too rare to assume.
        (1.0, 370.0),
        # The kettle's OFF was whole: without the drum it would fit the kettle worse, so no ON hid there.
        (3.0, 200.0),
    ],
)
def test_an_off_nothing_explains_stays_unidentified(period_s: float, kettle_off_w: float) -> None:
    engine, _, events = _kettle_then_drum(period_s, kettle_off_w)
    assert events[-1].dp == pytest.approx(-170.0)
    assert events[-1].status == "unidentified"
    assert not engine.hidden_edges


def _drum_beside_lamp(period_s: float, *segments: tuple[float, int]) -> tuple[Engine, list[Event]]:
    """A labeled run of a washer's 170 W drum and of a 60 W lamp over 200 W of baseload, then a 300 W load
    nobody named (so the mains holds a drum that seems to run), then these levels above it; returns the
    engine and the events of every later reading, fed one at a time, each with the events its reading
    reported revised (the unnamed load's ON left out)."""
    engine = Engine()
    above = [(w + 300.0, n) for w, n in segments]
    t, p, _ = levels(
        (200, 10), (370, 6), (200, 6), (260, 6), (200, 6), (500, 6), *above, period_s=period_s
    )
    _labeled_run(engine, t[:22], p[:22], "washer")
    _labeled_run(engine, t[22:34], p[22:34], "lamp")
    reported: list[Event] = []
    for k in range(34, t.size):
        update = engine.feed_arrays(t[k : k + 1], p[k : k + 1])
        reported += [*update.events, *update.revised]
    return engine, reported[1:]


@pytest.mark.parametrize("period_s", [1.0, 3.0])
def test_a_switching_in_the_reading_of_a_pulse_off_is_named_once_the_pulse_returns(
    period_s: float,
) -> None:
    """The drum's OFF and the lamp's ON in one reading read -110 W, which nothing explains; the drum's next
    ON shows its OFF hid there, and the +60 W left is the lamp's ON: the lamp is on, and that event is
    reported again as the lamp's. At one reading a second two loads in one reading are too rare to assume."""
    engine, reported = _drum_beside_lamp(period_s, (370, 6), (260, 6), (430, 6))
    _, merged, drum_again, *revised = reported
    lamp = next(a for a in engine.snapshot().appliances.values() if a.name == "lamp")
    assert drum_again.status == "identified"
    if period_s == 1.0:
        assert (merged.dp, merged.status, revised) == (pytest.approx(-110.0), "unidentified", [])
        assert not lamp.on
        return
    assert revised == [merged]
    assert (merged.kind, merged.dp, merged.status) == ("on", pytest.approx(60.0), "identified")
    assert merged.appliance_id == lamp.id
    assert lamp.on


def test_a_switching_in_the_reading_of_a_pulse_on_is_named_once_the_pulse_ends() -> None:
    """The lamp on, then a drum pulse; the drum's next ON and the lamp's OFF in one reading read +110 W; the
    drum's OFF that follows, with no drum on, shows its ON hid there: the -60 W left is the lamp's OFF."""
    engine, reported = _drum_beside_lamp(3.0, (260, 6), (430, 6), (260, 6), (370, 6), (200, 6))
    *_, merged, drum_off, revised = reported
    washer, lamp = (
        next(a for a in engine.snapshot().appliances.values() if a.name == name)
        for name in ("washer", "lamp")
    )
    assert revised is merged
    assert (merged.kind, merged.dp, merged.appliance_id) == ("off", pytest.approx(-60.0), lamp.id)
    assert (drum_off.appliance_id, drum_off.status) == (washer.id, "identified")
    assert not lamp.on
    assert not washer.on
    # The +110 W it read no longer runs as a load nobody named.
    assert merged.id not in engine.tracker.unknown


def test_a_rest_no_state_explains_leaves_the_step_as_read() -> None:
    """The drum's OFF and a 120 W load's ON in one reading (-50 W): without the drum's edge, +120 W fits no
    state (the lamp is 60 W; the drum, still on as far as the engine knows, does not switch on twice), so the
    step stays unidentified as it was read."""
    _, reported = _drum_beside_lamp(3.0, (370, 6), (320, 6), (490, 6))
    _, merged, drum_again = reported
    assert (merged.dp, merged.status) == (pytest.approx(-50.0), "unidentified")
    assert drum_again.status == "identified"


def test_an_unknown_load_is_named_by_how_long_it_runs() -> None:
    """Three 100 W look-alikes; b and c run a minute, the TV for long: a load still on after 5 min is the TV."""
    engine = Engine()
    t0 = T0

    def use(name: str, seconds: int) -> None:
        nonlocal t0
        t, p, _ = levels((100, 20), (200, seconds), (100, 30), t0=t0)
        on = engine.feed_arrays(t[:30], p[:30]).events[0]
        engine.label_event(on.id, name)
        off = engine.feed_arrays(t[30:], p[30:]).events[0]
        assert engine.events("all")[0].id == off.id
        t0 = t[-1] + 1

    for name, seconds in (("b", 60), ("c", 60), ("tv", 1000)):
        use(name, seconds)
    tv = engine.snapshot().appliances[engine.events("labeled")[0].appliance_id or ""]
    assert tv.name == "tv"
    # Minutes after the TV's run: no pulse train, so only the run to come can tell whose this ON is.
    engine.feed_arrays(*levels((100, 120), t0=t0)[:2])
    t, p, _ = levels((100, 20), (200, 600), t0=t0 + 120)
    powers: dict[str, np.ndarray] = {}
    update = engine.feed_arrays(t[:30], p[:30])
    (on,) = update.events
    assert on.status == "unidentified"
    update = engine.feed_arrays(t[30:], p[30:], powers=powers)
    # Named once it ran 5 min (from 20 + 300 s on), and reported again as revised.
    assert [e.id for e in update.revised] == [on.id]
    assert (on.status, on.appliance_id) == ("identified", tv.id)
    # Its ON was row 20 of the stream; this batch starts at row 30: on from the first row after 320.
    column = powers[tv.id]
    assert column[:291].max() == 0.0
    assert column[291:].min() == pytest.approx(100.0)
    assert engine.snapshot().appliances[tv.id].on
    assert not engine.tracker.unknown


def test_an_unknown_load_goes_to_the_look_alike_likelier_to_run_that_long() -> None:
    """Four 100 W look-alikes: b and c run a minute (out by 5 min), the lamp ran 4 minutes once, the TV
    17; after 5 min the lamp and the TV may both still run, the TV likelier."""
    engine = Engine()
    t0 = T0
    for name, seconds in (("b", 60), ("c", 60), ("lamp", 240), ("tv", 1000)):
        t, p, _ = levels((100, 20), (200, seconds), (100, 30), t0=t0)
        engine.label_event(engine.feed_arrays(t[:30], p[:30]).events[0].id, name)
        engine.feed_arrays(t[30:], p[30:])
        t0 = t[-1] + 121
    names = {a.id: a.name for a in engine.snapshot().appliances.values()}
    t, p, _ = levels((100, 20), (200, 600), t0=t0)
    (on,) = engine.feed_arrays(t[:30], p[:30]).events
    assert on.status == "unidentified"
    engine.feed_arrays(t[30:], p[30:])
    assert names[on.appliance_id or ""] == "tv"


def test_appliance_management_and_errors() -> None:
    engine = Engine()
    a = engine.create_appliance("  Fridge  ")
    assert a.name == "Fridge"
    with pytest.raises(InvalidNameError) as err:
        engine.create_appliance("fridge")
    assert err.value.key == "invalid_name"
    with pytest.raises(InvalidNameError):
        engine.create_appliance("   ")
    with pytest.raises(InvalidNameError):
        engine.create_appliance("x" * 65)
    b = engine.create_appliance("Freezer")
    assert engine.rename_appliance(b.id, "Chest freezer").name == "Chest freezer"
    with pytest.raises(InvalidNameError):
        engine.rename_appliance(b.id, "Fridge")
    with pytest.raises(UnknownApplianceError) as unknown:
        engine.rename_appliance("zzz", "x")
    assert unknown.value.key == "unknown_appliance"
    assert isinstance(unknown.value, NilmError)
    with pytest.raises(InvalidNameError):
        engine.merge_appliances(a.id, a.id)
    engine.delete_appliance(a.id)
    assert list(engine.snapshot().appliances) == [b.id]
    # Ids are never reused.
    assert engine.create_appliance("Fridge").id not in {a.id, b.id}


def test_merge_moves_signatures_events_and_energy() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (1000, 30), (100, 30), (1500, 30), (100, 20))
    e1, _, e3, _ = engine.feed_arrays(t, p).events
    a = engine.label_event(e1.id, "oven")
    b = engine.label_event(e3.id, "oven top")
    before = engine.snapshot().appliances
    total = before[a.id].energy_kwh + before[b.id].energy_kwh
    merged = engine.merge_appliances(b.id, a.id)
    assert merged.energy_kwh == pytest.approx(total)
    assert {e.appliance_id for e in engine.events("labeled")} == {a.id}
    assert len(merged.states) == 1


def test_delete_returns_labeled_events_to_pending() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (1000, 30), (100, 30))
    on, _ = engine.feed_arrays(t, p).events
    oven = engine.label_event(on.id, "oven")
    engine.delete_appliance(oven.id)
    assert engine.events("labeled") == []
    assert on.id in {e.id for e in engine.events("pending")}
    with pytest.raises(ValueError, match="unknown event kind"):
        engine.events("everything")


def test_learn_mode_labels_the_next_events() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (700, 30), (100, 30), (700, 30), (100, 200), (700, 30))
    engine.feed_arrays(t[:10], p[:10])
    engine.start_learning("microwave", duration_s=120.0, now=t[9])
    events = engine.feed_arrays(t[10:], p[10:]).events
    assert [e.status for e in events[:4]] == ["labeled"] * 4
    assert events[4].status == "identified"


def test_snapshot_powers_never_exceed_mains_and_baseload() -> None:
    engine = Engine()
    t, p, _ = levels((150, 3600), (2150, 60), (150, 60))
    (on,) = engine.feed_arrays(t[:3630], p[:3630]).events
    engine.label_event(on.id, "kettle")
    snap = engine.snapshot()
    assert snap.baseload_w == pytest.approx(150.0, abs=1.0)
    assert snap.mains_w == 2150.0
    total = sum(a.power_w for a in snap.appliances.values())
    assert total <= snap.mains_w
    assert snap.unidentified_w == pytest.approx(0.0, abs=5.0)
    # A dip of the mains below the kettle's power scales it down instead of exceeding it.
    engine.feed_arrays(t[3630:3631], [1000.0])
    snap = engine.snapshot()
    assert sum(a.power_w for a in snap.appliances.values()) <= 1000.0


def test_cost_and_bill_projection() -> None:
    engine = Engine(EngineConfig(price_per_kwh=0.5, timezone="Europe/Berlin", billing_day=1))
    t = 1_767_222_000.0 + np.arange(0, 2 * 86400, 10.0)  # 2026-01-01 00:00 Berlin, 10 s samples
    engine.feed_arrays(t, np.full(t.size, 1000.0))
    snap = engine.snapshot()
    assert snap.period_cost == pytest.approx(0.5 * 48, rel=0.01)
    assert snap.projected_bill == pytest.approx(0.5 * 24 * 31, rel=0.01)
    engine.set_price(1.0)
    with pytest.raises(ValueError, match="price"):
        engine.set_price(float("nan"))


def test_energy_does_not_cross_gaps_and_mark_gap_reanchors() -> None:
    engine = Engine()
    engine.feed_arrays(T0 + np.arange(100.0), np.full(100, 3600.0))
    engine.feed_arrays(T0 + 10_000 + np.arange(100.0), np.full(100, 3600.0))
    assert engine.ledger.mains_kwh == pytest.approx(2 * 99 / 1000, rel=1e-6)
    # The same readings in one call: a gap inside a batch counts no energy either.
    replay = Engine()
    both = np.concatenate([T0 + np.arange(100.0), T0 + 10_000 + np.arange(100.0)])
    replay.feed_arrays(both, np.full(200, 3600.0))
    assert replay.ledger.mains_kwh == pytest.approx(2 * 99 / 1000, rel=1e-6)
    engine.mark_gap()
    update = engine.feed_arrays(T0 + 10_101 + np.arange(50.0), np.full(50, 100.0))
    assert update.events == []
    assert engine.ledger.mains_kwh == pytest.approx(2 * 99 / 1000 + 49 * 0.1 / 3600, rel=1e-6)


def test_mains_energy_counts_import_only() -> None:
    """A house exporting solar power (negative mains) draws nothing: the mains energy never goes down."""
    t = T0 + np.arange(7201.0)
    p = np.where(t < T0 + 3601, 1000.0, -800.0)
    for batches in (1, 7201):
        engine = Engine()
        for rows in np.array_split(np.arange(t.size), batches):
            engine.feed_arrays(t[rows], p[rows])
        assert engine.ledger.mains_kwh == pytest.approx(1.0 + 1000.0 / 3.6e6, rel=1e-6)


def test_one_odd_dip_does_not_set_the_baseload() -> None:
    """A day at 300 W whose lowest level in one hour read 20 W (a glitch that held): baseload stays 300 W."""
    engine = Engine()
    t = T0 + np.arange(0.0, 86_400.0, 10.0)
    p = np.full(t.size, 300.0)
    p[(t >= T0 + 7_200) & (t < T0 + 7_260)] = 20.0
    engine.feed_arrays(t, p)
    assert min(m for _, m in engine.hourly_minima) == pytest.approx(20.0)
    assert engine.baseload_w == pytest.approx(300.0)


def test_a_large_load_drifting_by_a_percent_makes_no_event() -> None:
    """A 3 kW heater whose draw moves by 40 W with the supply voltage: no 40 W events at that level."""
    engine = Engine()
    t, p, _ = levels((3000, 30), (3040, 30), (3000, 30), (2960, 30), (3000, 30))
    assert engine.feed_arrays(t, p).events == []
    # The same 40 W at a 100 W level is a switch.
    t2, p2, _ = levels((100, 30), (140, 30), t0=t[-1] + 1000)
    assert [round(e.dp) for e in engine.feed_arrays(t2, p2).events] == [40]


def test_stored_events_stay_bounded() -> None:
    engine = Engine(EngineConfig(max_pending_events=20))
    rng = np.random.default_rng(0)
    segments = []
    for _ in range(600):
        segments += [(100, 10), (100 + float(rng.uniform(200, 3000)), 10)]
    t, p, _ = levels(*segments)
    engine.feed_arrays(t, p)
    assert 15 <= engine.snapshot().pending_count <= 20
    first = engine.events("pending")[-1]
    engine.label_event(first.id, "thing")
    assert len(engine.event_log) <= 20 + MAX_KEPT_EVENTS


def test_motor_inrush_is_part_of_its_on_event() -> None:
    """A 3 s start at 1.5 kW settling to 90 W is one ON of 90 W with the inrush as overshoot."""
    engine = Engine()
    t, p, _ = levels((100, 20), (1500, 3), (190, 30), (100, 30))
    update = engine.feed_arrays(t, p)
    on, off = update.events
    # The detector's three steps stay visible: event detection is judged on them.
    assert [round(step.dp) for step in update.steps] == [1400, -1310, -90]
    assert on.kind == "on"
    assert on.dp == pytest.approx(90.0)
    assert on.overshoot_w == pytest.approx(1310.0)
    assert on.transient_s == pytest.approx(3.0)
    assert off.dp == pytest.approx(-90.0)
    # A fridge labeled once is then recognised by its inrush among loads of the same size.
    engine.label_event(on.id, "fridge")
    lamp_t, lamp_p, _ = levels((100, 20), (190, 30), (100, 30), t0=t[-1] + 1)
    engine.label_event(engine.feed_arrays(lamp_t, lamp_p).events[0].id, "lamp")
    t2, p2, _ = levels((100, 20), (1500, 3), (190, 30), t0=lamp_t[-1] + 1)
    (again,) = engine.feed_arrays(t2, p2).events
    fridge = engine.snapshot().appliances[again.appliance_id]
    assert fridge.name == "fridge"


def test_a_start_that_reads_a_third_above_its_level_is_one_on() -> None:
    """A TV whose first readings show 140 W and that settles at 100 W 3 s later: one ON of 100 W."""
    engine = Engine()
    t, p, _ = levels((300, 20), (440, 3), (400, 30))
    (on,) = engine.feed_arrays(t, p).events
    assert (on.kind, on.dp, on.overshoot_w) == ("on", pytest.approx(100.0), pytest.approx(40.0))


def test_a_small_fall_soon_after_a_rise_is_an_event_of_its_own() -> None:
    """A kettle on, and 3 s later a 200 W lamp off: a fall returning under a quarter of the rise is no inrush."""
    engine = Engine()
    t, p, _ = levels((300, 20), (1300, 3), (1100, 30))
    events = engine.feed_arrays(t, p).events
    assert [(e.kind, round(e.dp)) for e in events] == [("on", 1000), ("off", -200)]


def test_one_state_ending_is_likelier_than_two_of_the_same_sum() -> None:
    """Kettle (1 kW), lamp (100 W) and heater (900 W) on; a 1 kW fall is the kettle's, not lamp + heater."""
    engine = Engine()
    t, p, _ = levels((100, 20), (1100, 20), (1200, 20), (2100, 20))
    for event, name in zip(
        engine.feed_arrays(t, p).events, ("kettle", "lamp", "heater"), strict=True
    ):
        engine.label_event(event.id, name)
    t2, p2, _ = levels((1100, 20), t0=t[-1] + 1)
    (off,) = engine.feed_arrays(t2, p2).events
    names = {a.id: a.name for a in engine.snapshot().appliances.values()}
    assert (off.status, names[off.appliance_id or ""]) == ("identified", "kettle")
    # Two states ending together are not as likely as one: the pair of the same sum is no near tie.
    assert off.confidence > 0.8
    assert sorted(a.name for a in engine.snapshot().appliances.values() if a.on) == [
        "heater",
        "lamp",
    ]


def test_missing_reactive_readings_are_left_out() -> None:
    engine = Engine()
    t, p, q = levels((100, 20), (1100, 20), q=(10.0, 410.0))
    q[::4] = np.nan
    (event,) = engine.feed_arrays(t, p, q=q).events
    assert event.dq == pytest.approx(400.0)
    assert event.pf == pytest.approx(1000.0 / np.hypot(1000.0, 400.0))


def test_an_on_goes_to_the_lookalike_that_is_off() -> None:
    """Two 1 kW heaters: while one runs, the next 1 kW ON is the other one."""
    engine = Engine()
    t, p, _ = levels((100, 20), (1100, 30), (100, 30), (1100, 30), (100, 30))
    events = engine.feed_arrays(t, p).events
    first = engine.label_event(events[0].id, "heater a")
    second = engine.label_event(events[2].id, "heater b")
    t2, p2, _ = levels((100, 20), (1100, 30), (2100, 30), t0=t[-1] + 1)
    on_one, on_other = engine.feed_arrays(t2, p2).events
    assert {on_one.appliance_id, on_other.appliance_id} == {first.id, second.id}
    snap = engine.snapshot()
    assert snap.appliances[first.id].on
    assert snap.appliances[second.id].on


@pytest.mark.parametrize("batch", [1, 2, 7, 1000])
def test_batching_does_not_change_when_an_appliance_switched(batch: int) -> None:
    """A switch takes effect from the reading that confirmed it, however the readings are batched."""
    t, p, _ = levels((100, 20), (2100, 20), (100, 20))
    engine = Engine()
    (on, _off) = engine.feed_arrays(t, p).events
    kettle = engine.label_event(on.id, "kettle")
    t2, p2, _ = levels((100, 20), (2100, 40), (100, 20), t0=t[-1] + 1)
    powers = np.zeros(t2.size)
    for start in range(0, t2.size, batch):
        column: dict[str, np.ndarray] = {}
        update = engine.feed_arrays(
            t2[start : start + batch], p2[start : start + batch], powers=column
        )
        if kettle.id in column:
            powers[start : start + batch] = column[kettle.id]
        earlier = update.backfill.get(kettle.id)
        if earlier is not None:
            powers[start - earlier.size : start] = earlier
    # On from its own row once the third reading of 2.1 kW confirmed it (a batch that ended before then gets
    # the rows back as backfill); off as the mains falls, since the appliances' powers never exceed it.
    assert np.flatnonzero(powers > 1000).tolist() == list(range(20, 60))


def test_an_on_revised_by_a_later_call_is_reported_again() -> None:
    """Fed sample by sample, the inrush settles one call after the ON was reported: it comes back revised."""
    engine = Engine()
    t, p, _ = levels((100, 20), (1500, 3), (190, 30))
    reported, revised = [], []
    for k in range(t.size):
        update = engine.feed_arrays(t[k : k + 1], p[k : k + 1])
        reported += update.events
        revised += update.revised
    (on,) = reported
    assert revised == [on]
    assert on.dp == pytest.approx(90.0)
    # In one batch the ON is reported once, already settled.
    whole = Engine().feed_arrays(t, p)
    assert [round(e.dp) for e in whole.events] == [90]
    assert whole.revised == []


def test_an_on_whose_settled_step_no_signature_admits_is_nobodys() -> None:
    """Identified as the kettle at +2,000 W, the step settled at +100 W 3 s later: unidentified, and named
    nothing (not still the kettle's)."""
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 30), (100, 30), (2100, 3), (200, 30))
    kettle = engine.label_event(engine.feed_arrays(t[:80], p[:80]).events[0].id, "kettle")
    reported: list[Event] = []
    for k in range(80, t.size):
        reported += engine.feed_arrays(t[k : k + 1], p[k : k + 1]).events
    (on,) = reported
    assert on.dp == pytest.approx(100.0)
    assert (on.status, on.appliance_id, on.state) == ("unidentified", None, None)
    assert not engine.snapshot().appliances[kettle.id].on


def test_an_unlabeled_phase_within_a_multi_state_run_is_part_of_that_appliance() -> None:
    """A washer labeled for its heater and drum: its spin, never labeled, still counts as the washer."""
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 60), (100, 30), (250, 30), (100, 30))
    heat_on, _, drum_on, _ = engine.feed_arrays(t, p).events
    washer = engine.label_event(heat_on.id, "washer", "heat")
    engine.label_event(drum_on.id, "washer", "drum")
    t2, p2, _ = levels((100, 20), (250, 30), (100, 10), (550, 60), t0=t[-1] + 1)
    drum, _, spin = engine.feed_arrays(t2, p2).events
    assert drum.appliance_id == washer.id
    assert spin.status == "unidentified"
    view = engine.snapshot().appliances[washer.id]
    assert view.on
    assert view.power_w == pytest.approx(450.0, abs=5.0)
    assert view.state == "unlabeled"
    t3, p3, _ = levels((100, 30), t0=t2[-1] + 1)
    (spin_off,) = engine.feed_arrays(t3, p3).events
    assert spin_off.status == "unidentified"
    assert not engine.snapshot().appliances[washer.id].on
    # Long after the washer's run, a load of that size is nobody's.
    t4, p4, _ = levels((100, 20), (550, 60), t0=t3[-1] + 1000)
    engine.feed_arrays(t4, p4)
    assert not engine.snapshot().appliances[washer.id].on


def test_a_load_that_outlasts_its_state_within_a_multi_state_run_is_part_of_that_run() -> None:
    """A dishwasher's heater taken for the kettle (same size): once no kettle runs that long, the dishwasher's."""
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 60), (100, 30), (250, 900), (100, 30), (180, 30), (100, 30))
    kettle_on, _, drum_on, _, pump_on, _ = engine.feed_arrays(t, p).events
    kettle = engine.label_event(kettle_on.id, "kettle")
    dishwasher = engine.label_event(drum_on.id, "dishwasher", "drum")
    engine.label_event(pump_on.id, "dishwasher", "pump")
    t2, p2, _ = levels((100, 20), (250, 30), (2250, 200), t0=t[-1] + 1)
    drum, heater = engine.feed_arrays(t2, p2).events
    assert (drum.appliance_id, heater.appliance_id) == (dishwasher.id, kettle.id)
    # Past the kettle's timeout (its one run of a minute), within the dishwasher's: the dishwasher's load.
    t3, p3, _ = levels((2250, 300), t0=t2[-1] + 1)
    engine.feed_arrays(t3, p3)
    appliances = engine.snapshot().appliances
    assert not appliances[kettle.id].on
    view = appliances[dishwasher.id]
    assert view.power_w == pytest.approx(2150.0, abs=20.0)
    assert view.state == "unlabeled"


def _two_labeled_runs_and_a_dishwasher(
    engine: Engine, power: float
) -> tuple[Appliance, Appliance, float]:
    """A load of this power labeled on two runs of a minute, and a dishwasher of two labeled states; returns
    both and the time of the last sample fed."""
    t, p, _ = levels(
        (100, 20),
        (100 + power, 60),
        (100, 30),
        (100 + power, 60),
        (100, 30),
        (250, 60),
        (100, 30),
        (180, 30),
        (100, 30),
    )
    on1, off1, on2, off2, drum_on, _, pump_on, _ = engine.feed_arrays(t, p).events
    for event in (on1, off1, on2, off2):
        load = engine.label_event(event.id, "load")
    dishwasher = engine.label_event(drum_on.id, "dishwasher", "drum")
    engine.label_event(pump_on.id, "dishwasher", "pump")
    return load, dishwasher, float(t[-1])


@pytest.mark.parametrize(
    ("power", "dishwasher_running", "handed"),
    [(2000.0, True, True), (2000.0, False, False), (40.0, True, False)],
)
def test_an_element_that_outlasts_its_state_within_another_appliance_s_run_is_part_of_it(
    power: float, dishwasher_running: bool, handed: bool
) -> None:
    """A dishwasher's heater taken for the kettle: once it outlasts the kettle's boils (1.1 times the longest)
    while the dishwasher is in its run, it is the dishwasher's load, not at the kettle's timeout (300 s).
    With no other appliance in its run a kettle boiling longer than it was labeled for stays the kettle, and
    a small load (a TV's long evening) keeps its name."""
    engine = Engine()
    load, dishwasher, last = _two_labeled_runs_and_a_dishwasher(engine, power)
    assert engine.runs.outrun_s((load.id, "on")) is not None
    drum = 250.0 if dishwasher_running else 100.0
    t, p, _ = levels((100, 20), (drum, 30), (drum + power, 100), t0=last + 1001)
    assert engine.feed_arrays(t, p).events[-1].appliance_id == load.id
    # 100 s into the run, past 1.1 times the load's longest labeled run of 60 s.
    appliances = engine.snapshot().appliances
    assert appliances[load.id].on is not handed
    view = appliances[dishwasher.id]
    assert view.on is dishwasher_running
    if handed:
        assert view.power_w == pytest.approx(150.0 + power, abs=20.0)
        assert view.state == "unlabeled"


def test_labeled_switches_keep_a_multi_state_appliance_in_its_run() -> None:
    """Phases labeled after the fact count like identified ones: an unlabeled spin soon after is the washer's."""
    engine = Engine()
    t, p, _ = levels((100, 20), (2100, 60), (100, 30), (250, 30), (100, 30))
    heat_on, _, drum_on, drum_off = engine.feed_arrays(t, p).events
    assert {e.status for e in (heat_on, drum_on, drum_off)} == {"unidentified"}
    washer = engine.label_event(heat_on.id, "washer", "heat")
    engine.label_event(drum_on.id, "washer", "drum")
    assert drum_off.appliance_id == washer.id
    t2, p2, _ = levels((100, 200), (550, 60), t0=t[-1] + 1)
    (spin,) = engine.feed_arrays(t2, p2).events
    assert spin.status == "unidentified"
    view = engine.snapshot().appliances[washer.id]
    assert view.on
    assert view.state == "unlabeled"


def _kettle_and_heater(
    engine: Engine, lead: int, period_s: float = 1.0
) -> tuple[Appliance, Appliance, float]:
    """A 2 kW kettle and a 1 kW heater, each switched once after `lead` idle samples and labeled.

    Returns both appliances and the time of the last sample fed.
    """
    t, p, _ = levels((100, lead), (2100, 10), (100, 10), (1100, 10), (100, 10), period_s=period_s)
    kettle_on, _, heater_on, _ = engine.feed_arrays(t, p).events
    kettle = engine.label_event(kettle_on.id, "kettle")
    return kettle, engine.label_event(heater_on.id, "heater"), float(t[-1])


def test_two_appliances_switching_on_within_a_minute_sample_get_an_on_each() -> None:
    """At 1-min data a kettle and a heater started within one minute are one 3 kW step: two ON events."""
    engine = Engine()
    kettle, heater, last = _kettle_and_heater(engine, 40, period_s=60.0)
    t2, p2, _ = levels((100, 10), (3100, 4), (1100, 10), (100, 10), t0=last + 60, period_s=60.0)
    on_one, on_other, kettle_off, heater_off = engine.feed_arrays(t2, p2).events
    assert {on_one.appliance_id, on_other.appliance_id} == {kettle.id, heater.id}
    assert on_one.t == on_other.t
    assert on_one.dp + on_other.dp == pytest.approx(3000.0)
    assert (kettle_off.appliance_id, heater_off.appliance_id) == (kettle.id, heater.id)
    assert not any(a.on for a in engine.snapshot().appliances.values())
    # At 1 s, two appliances switching on in the same sample is too rare to assume.
    engine = Engine()
    _, _, last = _kettle_and_heater(engine, 20)
    t4, p4, _ = levels((100, 30), (3100, 30), t0=last + 1)
    (step,) = engine.feed_arrays(t4, p4).events
    assert step.dp == pytest.approx(3000.0)
    assert step.status == "unidentified"


def test_a_settled_inrush_of_two_appliances_reports_the_second_as_a_new_event() -> None:
    """Minute data with a burst of 1 s readings: a start that settles within 5 s to kettle + heater."""
    engine = Engine()
    kettle, heater, last = _kettle_and_heater(engine, 140, period_s=60.0)
    t0 = last + 60.0
    t = np.array([t0, t0 + 1, t0 + 3, t0 + 4, t0 + 60, t0 + 120])
    update = engine.feed_arrays(t, np.array([7100.0, 7100.0, 3100.0, 3100.0, 3100.0, 3100.0]))
    (on,) = update.revised or update.events[:1]
    shared = [e for e in update.events if e is not on]
    assert {on.appliance_id, *(e.appliance_id for e in shared)} == {kettle.id, heater.id}
    assert on.dp + sum(e.dp for e in shared) == pytest.approx(3000.0)
    assert all(engine.event_log.find(e.id) is e for e in shared)
