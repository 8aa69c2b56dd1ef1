"""Run lengths as evidence: the last run of a size names the next ON of that size, by what labels taught."""

from __future__ import annotations

import json

from household import T0, levels
import numpy as np
import pytest

from custom_components.nilm.engine import Engine
from custom_components.nilm.engine.reconsider import OUTLAST_FACTOR
from custom_components.nilm.engine.runs import (
    FIT_BONUS,
    LABELED_PER_STATE,
    MISFIT_FLOOR,
    OUTRUN_Z,
    TRAIN_GAP_S,
    Run,
    RunHistory,
)

TOASTER = ("t", "on")
COFFEE = ("c", "on")


def test_previous_is_the_latest_run_of_about_this_size_within_the_gap() -> None:
    history = RunHistory()
    history.record(Run("e1", 100.0, 700.0, 120.0))
    history.record(Run("e2", 110.0, 300.0, 5.0))
    history.record(Run("e3", 105.0, 700.0, 8.0))
    # Both 700 W runs are of this size; e3 ended last.
    assert history.previous(150.0, 700.0) == 8.0
    # Within a quarter of the new step is its size (300 W for a 360 W step); 420 W is no run's size.
    assert history.previous(150.0, 360.0) == 5.0
    assert history.previous(150.0, 420.0) is None
    assert history.previous(150.0, 3000.0) is None
    # Past the gap the last run says nothing; nor does a run that ended after t (a replayed OFF).
    assert history.previous(105.0 + TRAIN_GAP_S + 1, 700.0) is None
    assert history.previous(95.0, 700.0) is None


def test_fit_rewards_the_labeled_run_length_and_bounds_a_misfit() -> None:
    history = RunHistory()
    assert history.fit(TOASTER, 120.0) == 0.0
    history.learn(TOASTER, "e1", 120.0)
    history.learn(TOASTER, "e2", 120.0)
    assert history.fit(TOASTER, 120.0) == pytest.approx(FIT_BONUS)
    # One spread (a factor 1.65 when the runs agree) away: 0.5 less.
    assert history.fit(TOASTER, 120.0 * np.exp(0.5)) == pytest.approx(FIT_BONUS - 0.5)
    assert history.fit(TOASTER, 6.0) == MISFIT_FLOOR
    # Runs that vary widen the spread: a run between them fits.
    history.learn(COFFEE, "e3", 4.0)
    history.learn(COFFEE, "e4", 40.0)
    assert history.fit(COFFEE, 12.0) > FIT_BONUS - 0.5


def test_fit_follows_what_labels_teach_and_take_back() -> None:
    history = RunHistory()
    history.learn(TOASTER, "e1", 120.0)
    assert history.fit(TOASTER, 8.0) == MISFIT_FLOOR
    history.learn(TOASTER, "e2", 8.0)
    assert history.fit(TOASTER, 8.0) > MISFIT_FLOOR
    history.undo("e2")
    assert history.fit(TOASTER, 8.0) == MISFIT_FLOOR
    history.forget("t")
    assert history.fit(TOASTER, 8.0) == 0.0


def test_a_run_outruns_a_state_its_labeled_runs_never_lasted() -> None:
    history = RunHistory()
    assert history.survival(COFFEE, 60.0) == 0.0
    history.learn(COFFEE, "e1", 8.0)
    # One labeled run says how long the state runs, not how long it cannot.
    assert history.outrun_s(COFFEE) is None
    history.learn(COFFEE, "e2", 8.0)
    outrun = history.outrun_s(COFFEE)
    assert outrun is not None
    # Two runs that agree do not make the tail narrow: beyond three times the spread of a single run's.
    assert outrun > 8.0 * np.exp(OUTRUN_Z * 0.5)
    # The chance to last longer falls with the run so far, down to the floor.
    assert (
        history.survival(COFFEE, 4.0)
        > history.survival(COFFEE, 8.0)
        > history.survival(COFFEE, 30.0)
    )
    assert history.survival(COFFEE, 8.0) == pytest.approx(np.log(0.5))
    assert history.survival(COFFEE, outrun) == MISFIT_FLOOR


def test_undo_forget_and_the_cap() -> None:
    history = RunHistory()
    for k in range(LABELED_PER_STATE + 5):
        history.learn(TOASTER, f"e{k}", 100.0 + k)
    assert len(history.labeled[TOASTER]) == LABELED_PER_STATE
    assert history.labeled[TOASTER][0] == ("e5", 105.0)
    history.record(Run("x", 10.0, 700.0, 8.0))
    history.learn(COFFEE, "x", 8.0)
    history.undo("x")
    assert history.previous(20.0, 700.0) is None
    assert COFFEE not in history.labeled
    history.forget("t")
    assert history.labeled == {}


def test_state_round_trips_through_json() -> None:
    history = RunHistory()
    history.record(Run("e1", 100.0, 700.0, 8.0))
    history.learn(TOASTER, "e2", 120.0)
    restored = RunHistory()
    restored.restore(json.loads(json.dumps(history.to_dict())))
    assert restored.to_dict() == history.to_dict()
    assert restored.fit(TOASTER, 120.0) == history.fit(TOASTER, 120.0)


def _run(engine: Engine, t0: float, seconds: int, label: str | None = None) -> tuple[str, float]:
    """One 700 W run after 20 s at 100 W; returns what its ON was named and the time after it."""
    t, p, _ = levels((100, 20), (800, seconds), (100, 20), t0=t0)
    on, off = engine.feed_arrays(t, p).events
    if label is not None:
        engine.label_event(on.id, label)
    assert off.kind == "off"
    return engine.appliances[on.appliance_id].name if on.appliance_id else "", t[-1] + 1


def test_a_pulse_names_the_next_pulse_of_its_size() -> None:
    """A toaster and a coffee maker's element both step 700 W: the toaster runs 2 minutes, the element 8 s.

    The toaster is the better known (two labels), so a lone 700 W ON is the toaster; one that comes seconds
    after an 8 s run of that size is the element pulsing again.
    """
    engine = Engine()
    t0 = T0
    for label, seconds in (("toaster", 120), ("toaster", 120), ("coffee maker", 8)):
        _, t0 = _run(engine, t0, seconds, label)
    toaster, coffee = engine.appliances
    # The coffee maker's ON was taken for the toaster, its OFF too; the label moved the run, OFF included.
    assert {key: [d for _, d in runs] for key, runs in engine.runs.labeled.items()} == {
        (toaster, "on"): [120.0, 120.0],
        (coffee, "on"): [8.0],
    }
    assert engine.events("all")[0].appliance_id == coffee
    assert not engine.snapshot().appliances[coffee].on
    # Minutes later (no train): the likelier appliance.
    name, t0 = _run(engine, t0 + 600, 8)
    assert name == "toaster"
    # 20 s after that 8 s pulse (its 20 s at 100 W lead in): the element again.
    name, t0 = _run(engine, t0, 8)
    assert name == "coffee maker"
    # After a 2-minute run of that size the toaster is the one again.
    name, t0 = _run(engine, t0 + 600, 120)
    name, _ = _run(engine, t0, 8)
    assert name == "toaster"


def test_runs_are_taught_by_labels_only_and_taken_back_by_a_relabel() -> None:
    engine = Engine()
    _, t0 = _run(engine, T0, 30, "toaster")
    (key,) = engine.runs.labeled
    # An unlabeled run of a known appliance is remembered for the next ON, but teaches nothing.
    name, t0 = _run(engine, t0 + 600, 60)
    assert name == "toaster"
    assert [d for _, d in engine.runs.labeled[key]] == [30.0]
    assert engine.runs.previous(t0, 700.0) == 60.0
    # Relabeling that OFF as an appliance that was not running takes back the run it ended.
    off = engine.events("all")[0]
    engine.label_event(off.id, "other")
    assert off.id not in [r.off_event_id for r in engine.runs.recent]
    assert engine.runs.previous(t0, 700.0) is None
    # Deleting the appliance forgets its runs; the saved state keeps them until then.
    saved = json.loads(json.dumps(engine.to_dict()))
    assert Engine.from_dict(saved).runs.to_dict() == engine.runs.to_dict()
    engine.delete_appliance(key[0])
    assert key not in engine.runs.labeled


def test_a_label_long_after_teaches_the_run_its_unexplained_off_ended() -> None:
    """The heater's ON fell out of the unknown loads followed (20 others came on since): labeling it still
    finds its OFF, and the run between them is the heater's."""
    engine = Engine()
    steps = [(100.0, 20), (1600.0, 20)]
    steps += [(1600.0 + 80 * k, 10) for k in range(1, 22)]
    steps += [(100.0 + 80 * 21, 30)]
    t, p, _ = levels(*steps)
    events = engine.feed_arrays(t, p).events
    heater_on, off = events[0], events[-1]
    assert (off.kind, off.status) == ("off", "unidentified")
    heater = engine.label_event(heater_on.id, "heater")
    assert (off.status, off.appliance_id) == ("identified", heater.id)
    assert engine.runs.labeled[(heater.id, "on")] == [(off.id, off.t - heater_on.t)]


def test_a_labeled_off_teaches_only_its_own_appliance_s_run() -> None:
    """A joint OFF labeled as the kettle also ends the vacuum, whose ON the engine named: the kettle's run is
    the user's word, the vacuum's the engine's, and only the first teaches a run length."""
    engine = Engine()
    t, p, _ = levels((100, 20), (2000, 40), (100, 20))
    vacuum = engine.label_event(engine.feed_arrays(t, p).events[0].id, "vacuum")
    t, p, _ = levels((100, 20), (2100, 20), (4000, 30), (100, 30), t0=t[-1] + 1)
    on_kettle, on_vacuum = engine.feed_arrays(t[:70], p[:70]).events
    assert on_vacuum.appliance_id == vacuum.id
    kettle = engine.label_event(on_kettle.id, "kettle")
    engine.start_learning("kettle", now=t[69])
    (off,) = engine.feed_arrays(t[70:], p[70:]).events
    assert off.status == "labeled"
    assert not engine.snapshot().appliances[vacuum.id].on
    assert [d for _, d in engine.runs.labeled[(kettle.id, "on")]] == [50.0]
    assert [d for _, d in engine.runs.labeled[(vacuum.id, "on")]] == [40.0]


TRAINED = [("toaster", 120), ("toaster", 120)] + [("coffee maker", 8)] * 3


def _labeled_runs(engine: Engine, t0: float, runs: list[tuple[str, int]]) -> float:
    for name, seconds in runs:
        _, t0 = _run(engine, t0, seconds, name)
        t0 += 600
    return t0


def test_a_run_that_outlasts_its_winner_s_runs_goes_to_a_rival_that_runs_that_long() -> None:
    """The coffee maker's pulses (three labeled, 8 s each) make a lone 700 W ON its own; once that run has
    gone on longer than any pulse, no pulse ever ran so long and the toaster's runs did: it is the toaster's,
    from then on, and its ON event is revised. Its labeled runs alone would allow it 30-110 s."""
    engine = Engine()
    t0 = _labeled_runs(engine, T0, TRAINED)
    toaster, coffee = (a.id for a in engine.snapshot().appliances.values())
    outrun = engine.runs.outrun_s((coffee, "on"))
    assert outrun is not None
    assert 30 < outrun < 110
    assert engine.tracker.longest_run_s[(coffee, "on")] == 8.0
    t, p, _ = levels((100, 20), (800, 130), (100, 20), t0=t0)
    # Judged again at 8.8 s, the reading after 28.
    first = 20 + int(OUTLAST_FACTOR * 8.0)
    (on,) = engine.feed_arrays(t[:first], p[:first]).events
    assert on.appliance_id == coffee
    assert engine.snapshot().appliances[coffee].on
    update = engine.feed_arrays(t[first : first + 2], p[first : first + 2])
    assert [e.id for e in update.revised] == [on.id]
    assert (on.appliance_id, on.state) == (toaster, "on")
    snapshot = engine.snapshot()
    assert snapshot.appliances[toaster].on
    assert not snapshot.appliances[coffee].on
    engine.feed_arrays(t[first + 2 : 140], p[first + 2 : 140])
    (off,) = engine.feed_arrays(t[140:], p[140:]).events
    assert off.appliance_id == toaster
    assert not engine.snapshot().appliances[toaster].on


def test_the_user_s_word_overrides_a_handover() -> None:
    engine = Engine()
    t0 = _labeled_runs(engine, T0, TRAINED)
    toaster, coffee = (a.id for a in engine.snapshot().appliances.values())
    t, p, _ = levels((100, 20), (800, 130), (100, 20), t0=t0)
    (on,) = engine.feed_arrays(t[:140], p[:140]).events
    assert on.appliance_id == toaster
    engine.label_event(on.id, "coffee maker")
    assert engine.snapshot().appliances[coffee].on
    assert not engine.snapshot().appliances[toaster].on
    (off,) = engine.feed_arrays(t[140:], p[140:]).events
    assert off.appliance_id == coffee
    # The labeled run is the coffee maker's, as long as it was.
    assert [d for _, d in engine.runs.labeled[(coffee, "on")]][-1] == 130.0


def test_the_handover_is_the_same_whatever_the_batches() -> None:
    def replay(batch: int) -> list[tuple[str, str | None]]:
        engine = Engine()
        t0 = _labeled_runs(engine, T0, TRAINED)
        t, p, _ = levels((100, 20), (800, 130), (100, 20), t0=t0)
        for k in range(0, t.size, batch):
            engine.feed_arrays(t[k : k + batch], p[k : k + batch])
        names = {a.id: a.name for a in engine.snapshot().appliances.values()}
        return [(e.kind, names.get(e.appliance_id or "")) for e in engine.events("all")][:2]

    assert replay(1) == replay(170) == [("off", "toaster"), ("on", "toaster")]


@pytest.mark.parametrize("reason", ["one labeled pulse", "a rival without labeled runs"])
def test_no_handover_without_runs_on_both_sides(reason: str) -> None:
    engine = Engine()
    t0 = _labeled_runs(engine, T0, TRAINED)
    toaster, coffee = (a.id for a in engine.snapshot().appliances.values())
    if reason == "one labeled pulse":
        del engine.runs.labeled[(coffee, "on")][1:]
    else:
        engine.runs.forget(toaster)
    t, p, _ = levels((100, 20), (800, 300), t0=t0)
    (on,) = engine.feed_arrays(t, p).events
    assert on.appliance_id == coffee, reason
    assert engine.snapshot().appliances[coffee].on, reason


def test_an_ignored_label_no_longer_teaches_its_run() -> None:
    """A run's length is taught while one of its ends is labeled: ignoring the last such label takes it back."""
    engine = Engine()
    t, p, _ = levels((100, 20), (800, 60), (100, 20))
    on, off = engine.feed_arrays(t, p).events
    toaster = engine.label_event(on.id, "toaster")
    engine.label_event(off.id, "toaster")
    key = (toaster.id, "on")
    assert engine.runs.labeled[key] == [(off.id, 60.0)]
    engine.ignore_event(on.id)
    assert engine.runs.labeled[key] == [(off.id, 60.0)]
    engine.ignore_event(off.id)
    assert key not in engine.runs.labeled


def test_an_ignored_label_of_a_run_the_engine_paired() -> None:
    engine = Engine()
    t, p, _ = levels((100, 20), (800, 60), (100, 20))
    first_on, first_off = engine.feed_arrays(t, p).events
    toaster = engine.label_event(first_on.id, "toaster")
    key = (toaster.id, "on")
    t, p, _ = levels((100, 20), (800, 90), (100, 20), t0=t[-1] + 600)
    on, off = engine.feed_arrays(t, p).events
    assert on.appliance_id == toaster.id
    # Its labeled OFF alone teaches the run; so does its labeled ON alone.
    engine.label_event(off.id, "toaster")
    assert engine.runs.labeled[key] == [(first_off.id, 60.0), (off.id, 90.0)]
    engine.ignore_event(off.id)
    assert engine.runs.labeled[key] == [(first_off.id, 60.0)]
    engine.label_event(on.id, "toaster")
    assert engine.runs.labeled[key] == [(first_off.id, 60.0), (off.id, 90.0)]
    engine.ignore_event(on.id)
    assert engine.runs.labeled[key] == [(first_off.id, 60.0)]
    # The first run's ON is labeled: ignoring its OFF leaves the run taught.
    engine.label_event(first_off.id, "toaster")
    engine.ignore_event(first_off.id)
    assert engine.runs.labeled[key] == [(first_off.id, 60.0)]


def test_a_run_goes_to_a_look_alike_that_its_narrower_signature_outscored() -> None:
    """A kettle labeled five times at exactly 2,000 W takes most of a 1,990 W step from a washer's heater
    labeled at 1,700 and 2,000 W, though the step alone cannot tell them apart. Its labeled runs took a
    minute, its longest two; once a run has gone on longer than any and the heater's runs last that long,
    it is the heater's."""
    engine = Engine()
    t0 = T0
    runs = [("washer", 1700, 900), ("washer", 2000, 900)] + [("kettle", 2000, 60)] * 5
    for label, watts, seconds in [*runs, (None, 2000, 130)]:
        t, p, _ = levels((100, 20), (100 + watts, seconds), (100, 20), t0=t0)
        on, _ = engine.feed_arrays(t, p).events
        if label is not None:
            engine.label_event(on.id, label)
        t0 = t[-1] + 600
    washer, kettle = (a.id for a in engine.snapshot().appliances.values())
    assert engine.tracker.longest_run_s[(kettle, "on")] == 130.0
    t, p, _ = levels((100, 20), (2090, 900), (100, 20), t0=t0)
    judged = 20 + int(OUTLAST_FACTOR * 130.0)
    (on,) = engine.feed_arrays(t[:judged], p[:judged]).events
    assert on.appliance_id == kettle
    # Below the share a rival needed before (0.2).
    assert 0.01 < {a: share for a, _, share in on.candidates}[washer] < 0.2
    update = engine.feed_arrays(t[judged : judged + 2], p[judged : judged + 2])
    assert [e.id for e in update.revised] == [on.id]
    assert engine.snapshot().appliances[washer].on
    assert not engine.snapshot().appliances[kettle].on
