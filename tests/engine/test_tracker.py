"""Tracking: ON/OFF pairing, undo, timeouts, re-checks against the mains and the share of the mains."""

from __future__ import annotations

from hypothesis import given, strategies as st
import numpy as np
import pytest

from custom_components.nilm.engine.tracker import (
    DEFAULT_MAX_ON_S,
    MAX_UNKNOWN_LOADS,
    MIN_TIMEOUT_S,
    RECHECK_SHARE,
    RECHECK_TOTAL_SHARE,
    UNKNOWN,
    UNLABELED_STATE,
    Tracker,
)


def test_on_then_off_pairs_and_learns_the_run_length() -> None:
    tracker = Tracker()
    tracker.switch_on("k", "on", 2000.0, 10.0, "e1")
    tracker.switch_on("w", "heat", -1500.0, 12.0, "e2")
    assert tracker.total_w() == 3500.0
    assert tracker.appliance_powers() == {"k": (2000.0, "on"), "w": (1500.0, "heat")}
    closed = tracker.switch_off([("k", "on"), ("x", "on")], 130.0, "e3")
    assert [c.event_id for c in closed] == ["e1"]
    assert tracker.longest_run_s[("k", "on")] == 120.0
    assert tracker.switch_off([("k", "on")], 140.0, "e4") == []


def test_multi_state_appliance_sums_its_states() -> None:
    tracker = Tracker()
    tracker.switch_on("wm", "heat", 2000.0, 0.0, "e1")
    tracker.switch_on("wm", "drum", 200.0, 5.0, "e2")
    assert tracker.appliance_powers() == {"wm": (2200.0, "heat")}
    assert [c.state for c in tracker.running("wm", before=3.0)] == ["heat"]


def test_undo_reverts_an_on_and_reopens_what_an_off_closed() -> None:
    tracker = Tracker()
    tracker.switch_on("k", "on", 2000.0, 0.0, "e1")
    tracker.switch_off([("k", "on")], 60.0, "e2")
    tracker.undo("e2")
    assert ("k", "on") in tracker.active
    tracker.undo("e1")
    assert tracker.active == {}


def test_an_off_taken_back_teaches_no_run_length() -> None:
    """A fridge's OFF first read as the TV's, then labeled: the TV keeps the timeout it had."""
    tracker = Tracker()
    tracker.switch_on("tv", "on", 100.0, 0.0, "e1")
    tracker.switch_off([("tv", "on")], 900.0, "e2")
    tracker.undo("e2")
    assert tracker.longest_run_s == {}
    assert tracker.next_expiry() == DEFAULT_MAX_ON_S
    tracker.switch_off([("tv", "on")], 4000.0, "e3")
    tracker.switch_on("tv", "on", 100.0, 5000.0, "e4")
    tracker.switch_off([("tv", "on")], 5300.0, "e5")
    tracker.undo("e5")
    assert tracker.longest_run_s == {("tv", "on"): 4000.0}
    # Taken back after a longer run was learned: that one stands.
    tracker.switch_off([("tv", "on")], 10_000.0, "e6")
    tracker.switch_on("tv", "on", 100.0, 20_000.0, "e7")
    tracker.switch_off([("tv", "on")], 26_000.0, "e8")
    tracker.undo("e6")
    assert tracker.longest_run_s == {("tv", "on"): 6000.0}


def test_recheck_against_the_mains_and_the_timeout() -> None:
    tracker = Tracker()
    tracker.switch_on("k", "on", 2000.0, 0.0, "e1")
    tracker.switch_on("f", "on", 100.0, 0.0, "e2")
    # The mains fell to 400 W above the baseload: the kettle cannot still be on, the fridge can.
    stale = tracker.recheck(60.0, 500.0, 100.0)
    assert [c.appliance_id for c in stale] == ["k"]
    stale = tracker.recheck(DEFAULT_MAX_ON_S + 1.0, 500.0, 100.0)
    assert [c.appliance_id for c in stale] == ["f"]


def test_recheck_ends_the_state_without_which_the_rest_fits_the_mains() -> None:
    """Each fits the mains alone; together they hold more than twice it, and without the heater they fit."""
    tracker = Tracker()
    tracker.switch_on("wm", "heat", 500.0, 0.0, "e1")
    tracker.switch_on("f", "on", 200.0, 0.0, "e2")
    tracker.switch_on("tv", "on", 150.0, 0.0, "e3")
    stale = tracker.recheck(60.0, 430.0, 100.0)
    assert [c.appliance_id for c in stale] == ["wm"]
    assert set(tracker.active) == {("f", "on"), ("tv", "on")}
    # Up to two and a half times the mains may run: each step is measured beside other loads.
    tracker.switch_on("lamp", "on", 400.0, 70.0, "e4")
    assert tracker.recheck(80.0, 400.0, 100.0) == []
    # Past that, the lamp: without it the rest comes closest to the mains.
    stale = tracker.recheck(90.0, 350.0, 100.0)
    assert [c.appliance_id for c in stale] == ["lamp"]
    # A run whose ON the user named goes last, even where it would fit best.
    tracker.switch_on("lamp", "on", 400.0, 95.0, "e6", held=True)
    stale = tracker.recheck(96.0, 350.0, 100.0)
    assert [c.appliance_id for c in stale] == ["f"]
    assert ("lamp", "on") in tracker.active
    tracker.switch_off([("lamp", "on")], 97.0, "e7")
    # Four states of 100 W that each fit 70 W: one at a time until the rest is within the share.
    for k in range(4):
        tracker.switch_on("x", f"s{k}", 100.0, 100.0, f"x{k}")
    tracker.switch_off([("f", "on"), ("tv", "on")], 110.0, "e5")
    assert len(tracker.recheck(120.0, 170.0, 100.0)) == 3
    assert len(tracker.active) == 1


@given(
    st.lists(st.floats(1.0, 5000.0), min_size=1, max_size=8),
    st.floats(-500.0, 8000.0),
    st.floats(0.0, 300.0),
)
def test_a_recheck_leaves_only_what_the_mains_can_hold(
    powers: list[float], level_w: float, baseload_w: float
) -> None:
    """Whatever ran, after a recheck each state fits the mains alone and all of them together."""
    tracker = Tracker()
    for k, power in enumerate(powers):
        tracker.switch_on(f"a{k}", "on", power, 0.0, f"e{k}")
    stale = tracker.recheck(10.0, level_w, baseload_w)
    room = level_w - baseload_w
    running = [c.power_w for c in tracker.active.values()]
    assert len(running) + len(stale) == len(powers)
    assert all(RECHECK_SHARE * power <= room for power in running)
    assert RECHECK_TOTAL_SHARE * sum(running) <= room or not running


def test_learned_run_length_sets_the_timeout() -> None:
    tracker = Tracker()
    tracker.switch_on("k", "on", 2000.0, 0.0, "e1")
    tracker.switch_off([("k", "on")], 300.0, "e2")
    tracker.switch_on("k", "on", 2000.0, 1000.0, "e3")
    # After one run, 2.5 times it: one run says little about how long the state can run.
    assert tracker.next_expiry() == 1000.0 + 750.0
    tracker.undo("e3")
    for k in range(4):
        tracker.switch_on("k", "on", 2000.0, 2000.0 * (k + 1), f"r{k}")
        tracker.switch_off([("k", "on")], 2000.0 * (k + 1) + 200.0, f"s{k}")
    tracker.switch_on("k", "on", 2000.0, 20_000.0, "e3")
    # After five runs, 1.7 times the longest (300 s).
    assert tracker.next_expiry() == pytest.approx(20_000.0 + 510.0)
    assert tracker.recheck(20_000.0 + 509.0, None, 0.0) == []
    assert len(tracker.recheck(20_000.0 + 511.0, None, 0.0)) == 1
    # The mains still holds it: the load stays, as an unknown one whose OFF ends no kettle.
    assert list(tracker.unknown) == ["e3"]
    # Until its OFF, the mains, or DEFAULT_MAX_ON_S after its ON.
    assert tracker.next_expiry() == 20_000.0 + DEFAULT_MAX_ON_S


def test_an_off_taken_back_uncounts_its_run() -> None:
    tracker = Tracker()
    for k in range(2):
        tracker.switch_on("k", "on", 2000.0, 1000.0 * k, f"on{k}")
        tracker.switch_off([("k", "on")], 1000.0 * k + 300.0, f"off{k}")
    assert tracker.runs_seen == {("k", "on"): 2}
    tracker.undo("off1")
    assert tracker.runs_seen == {("k", "on"): 1}
    tracker.undo("off0")
    assert tracker.runs_seen == {}


def test_shares_keep_the_sum_under_the_mains() -> None:
    tracker = Tracker()
    assert tracker.shares(np.array([50.0])).tolist() == [1.0]
    tracker.switch_on("k", "on", 2000.0, 0.0, "e1")
    shares = tracker.shares(np.array([3000.0, 1000.0, -5.0]))
    assert shares.tolist() == pytest.approx([1.0, 0.5, 0.0])


def test_forget_drops_an_appliance() -> None:
    tracker = Tracker()
    tracker.switch_on("k", "on", 2000.0, 0.0, "e1")
    tracker.switch_off([("k", "on")], 10.0, "e2")
    tracker.switch_on("k", "on", 2000.0, 20.0, "e3")
    tracker.forget("k")
    assert tracker.active == {}
    assert tracker.longest_run_s == {}


def test_unknown_loads_end_by_their_off_and_come_back_on_undo() -> None:
    tracker = Tracker()
    tracker.switch_on("k", "on", 2000.0, 0.0, "e1")
    tracker.track_unknown(-500.0, 40.0, 5.0, "e2")
    assert tracker.unknown["e2"].power_w == 500.0
    assert tracker.unknown["e2"].reactive_var == 40.0
    # Unknown loads are no appliance: they add nothing to the appliances' powers.
    assert tracker.total_w() == 2000.0
    assert tracker.switch_off([(UNKNOWN, "e2")], 60.0, "e3")[0].event_id == "e2"
    assert tracker.unknown == {}
    assert ("k", "on") in tracker.active
    tracker.undo("e3")
    assert list(tracker.unknown) == ["e2"]
    tracker.undo("e2")
    assert tracker.unknown == {}


def test_unknown_loads_are_bounded_and_dropped_like_states() -> None:
    tracker = Tracker()
    for k in range(MAX_UNKNOWN_LOADS + 3):
        tracker.track_unknown(100.0 + k, None, float(k), f"e{k}")
    assert len(tracker.unknown) == MAX_UNKNOWN_LOADS
    assert "e0" not in tracker.unknown
    tracker.track_unknown(3000.0, None, 50.0, "big")
    # The mains holds 1,000 W above the baseload: the 3 kW load is gone, silently (no appliance to note).
    assert tracker.recheck(60.0, 1100.0, 100.0) == []
    assert "big" not in tracker.unknown
    # Their end is a deadline of its own, not left to whichever recheck comes next.
    assert tracker.next_expiry() == 4.0 + DEFAULT_MAX_ON_S
    assert tracker.recheck(DEFAULT_MAX_ON_S + 100.0, None, 0.0) == []
    assert tracker.unknown == {}


def test_a_load_owned_by_an_appliance_counts_as_part_of_it_until_its_run_is_over() -> None:
    tracker = Tracker()
    tracker.switch_on("wm", "drum", 150.0, 0.0, "e1")
    tracker.switch_off([("wm", "drum")], 60.0, "e2")
    tracker.track_unknown(450.0, None, 70.0, "e3", owner="wm")
    tracker.track_unknown(700.0, None, 75.0, "e4")
    # The spin is the washer's (its largest part, with no state of its own); the 700 W load nobody's.
    assert tracker.appliance_powers() == {"wm": (450.0, UNLABELED_STATE)}
    assert tracker.total_w() == 450.0
    tracker.switch_on("wm", "drum", 150.0, 80.0, "e5")
    assert tracker.appliance_powers() == {"wm": (600.0, UNLABELED_STATE)}
    # The washer's runs last at most a minute: after MIN_TIMEOUT_S the spin is no longer the washer's,
    # but something of its size is still on and its OFF must still end it.
    assert tracker.next_expiry() == 70.0 + MIN_TIMEOUT_S
    tracker.switch_off([("wm", "drum")], 90.0, "e6")
    tracker.recheck(70.0 + MIN_TIMEOUT_S + 1.0, 1500.0, 100.0)
    assert tracker.appliance_powers() == {}
    assert tracker.unknown["e3"].owner is None
    tracker.track_unknown(450.0, None, 400.0, "e7", owner="wm")
    tracker.forget("wm")
    assert tracker.unknown["e7"].owner is None
    assert tracker.appliance_powers() == {}
