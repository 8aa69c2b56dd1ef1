"""Identification: robust signatures, Gaussian likelihoods, the novelty gate and joint OFF options."""

from __future__ import annotations

from itertools import combinations

from hypothesis import example, given, settings, strategies as st
import pytest

from custom_components.nilm.engine.classifier import (
    Option,
    Signature,
    admitted,
    classify,
    inrush_feature,
    joint_candidates,
    robust_stats,
    step_sd,
)


def _signature(appliance: str, steps: list[float], dq: float | None = None) -> Signature:
    signature = Signature(appliance, "on")
    for k, dp in enumerate(steps):
        signature.add(f"{appliance}{k}", dp, dq, limit=50)
    return signature


def test_robust_stats_ignore_one_outlier() -> None:
    stats = robust_stats([2100.0, 2120.0, 2140.0, 2110.0, 4200.0])
    assert stats is not None
    assert stats.centre == 2120.0
    assert stats.spread < 50.0
    assert robust_stats([]) is None
    single = robust_stats([500.0])
    assert single is not None
    assert single.spread == 0.0


def test_signature_learns_sign_free_and_forgets() -> None:
    signature = Signature("a", "on")
    signature.add("e1", 1000.0, 100.0, limit=2)
    signature.add("e2", -1020.0, -110.0, limit=2)
    assert [(e.power_w, e.reactive_var) for e in signature.entries] == [
        (1000.0, 100.0),
        (1020.0, 110.0),
    ]
    # The inrush is learned from the ON only.
    assert signature.entries[0].inrush == 0.0
    assert signature.entries[1].inrush is None
    signature.add("e3", 990.0, None, limit=2)
    assert signature.count == 2
    assert signature.remove("e2")
    assert not signature.remove("e2")


def test_inrush_separates_a_motor_from_a_resistive_load() -> None:
    """Two 90 W loads: a fridge starts with a large inrush, a lamp does not."""
    fridge, lamp = Signature("fridge", "on"), Signature("lamp", "on")
    for k in range(3):
        fridge.add(f"f{k}", 90.0, None, limit=50, overshoot_w=1300.0)
        lamp.add(f"l{k}", 90.0, None, limit=50)
    options = [Option((fridge,)), Option((lamp,))]
    start = classify(90.0, None, options, noise_w=1.0, inrush=inrush_feature(90.0, 1250.0))
    assert start.best is not None
    assert start.best.signatures == (fridge,)
    assert start.confidence > 0.9
    quiet = classify(90.0, None, options, noise_w=1.0, inrush=inrush_feature(90.0, 2.0))
    assert quiet.best is not None
    assert quiet.best.signatures == (lamp,)


def test_a_motor_start_seen_at_one_labeled_on_of_three_still_counts_for_it() -> None:
    """A fridge's start showed at one of its three labeled ONs (the reading fell on it); a PC never showed one.

    The next fridge start that shows an inrush is the fridge's, though its step is closer to the PC's; one
    that shows none is still the PC's. Judged by the fridge's median inrush (none), both went to the PC.
    """
    fridge, pc = Signature("fridge", "on"), Signature("pc", "on")
    for k, overshoot in enumerate([350.0, 3.0, 2.0]):
        fridge.add(f"f{k}", 90.0, None, limit=50, overshoot_w=overshoot)
    for k in range(3):
        pc.add(f"p{k}", 96.0, None, limit=50, overshoot_w=2.0)
    options = [Option((fridge,)), Option((pc,))]
    start = classify(95.0, None, options, noise_w=1.0, inrush=inrush_feature(95.0, 380.0))
    assert start.best is not None
    assert start.best.signatures == (fridge,)
    quiet = classify(95.0, None, options, noise_w=1.0, inrush=inrush_feature(95.0, 2.0))
    assert quiet.best is not None
    assert quiet.best.signatures == (pc,)


def test_offs_labeled_in_bulk_do_not_move_what_an_on_is_judged_against() -> None:
    # A freezer starts at 200 W and stops at about 150 W: its user labeled three starts, then its stops.
    freezer = _signature("freezer", [200.0, 202.0, 198.0])
    for k in range(6):
        freezer.add(f"off{k}", -150.0, None, limit=50)
    # Twice as many OFFs as ONs: the steps stay pooled, as with a handful of labels of either kind.
    assert freezer.on_profile() == freezer.profile()
    freezer.add("off6", -150.0, None, limit=50)
    assert freezer.profile().power.centre == 150.0
    assert freezer.on_profile().power.centre == 200.0
    assert admitted([freezer], 200.0, 2.0) == [0]
    decision = classify(200.0, None, [Option((freezer,))], 2.0, inrush=0.0)
    assert decision.confidence > 0.9
    # Its OFFs are still judged against what its ON added.
    off = classify(150.0, None, [Option((freezer,), 150.0)], 2.0)
    assert off.confidence > 0.9


def test_labeled_offs_alone_describe_a_state_with_few_labeled_ons() -> None:
    lamp = Signature("lamp", "on")
    lamp.add("on1", 60.0, None, limit=50)
    for k in range(8):
        lamp.add(f"off{k}", -58.0, None, limit=50)
    assert lamp.on_profile() == lamp.profile()
    assert lamp.on_profile().power.centre == 58.0


def test_closest_signature_wins_with_high_confidence() -> None:
    kettle = _signature("kettle", [2000.0, 2020.0, 1990.0])
    toaster = _signature("toaster", [900.0, 910.0])
    decision = classify(2010.0, None, [Option((kettle,)), Option((toaster,))], noise_w=2.0)
    assert decision.best is not None
    assert decision.best.signatures == (kettle,)
    assert decision.confidence > 0.9
    assert decision.candidates[0][:2] == ("kettle", "on")


def test_novel_step_is_not_forced_into_a_class() -> None:
    kettle = _signature("kettle", [2000.0, 2020.0, 1990.0])
    decision = classify(3500.0, None, [Option((kettle,))], noise_w=2.0)
    assert decision.best is None
    assert decision.confidence == 0.0
    assert decision.candidates == []


def test_power_factor_separates_equal_steps() -> None:
    """Two 1 kW loads: a resistive heater and a motor; dQ and PF tell them apart."""
    heater = _signature("heater", [1000.0, 1005.0, 995.0], dq=5.0)
    motor = _signature("motor", [1000.0, 1010.0, 990.0], dq=700.0)
    options = [Option((heater,)), Option((motor,))]
    decision = classify(1002.0, 690.0, options, noise_w=2.0)
    assert decision.best is not None
    assert decision.best.signatures == (motor,)
    assert classify(1002.0, 3000.0, [Option((heater,))], noise_w=2.0).best is None


def test_expected_power_overrides_the_signature_for_an_off() -> None:
    """An OFF is matched against the power its ON added, not only the label mean."""
    lamp = _signature("lamp", [100.0, 100.0, 100.0])
    assert classify(160.0, None, [Option((lamp,), 160.0)], noise_w=1.0).confidence > 0.9
    assert classify(160.0, None, [Option((lamp,))], noise_w=1.0).best is None


def test_joint_option_explains_two_appliances_ending_together() -> None:
    kettle = _signature("kettle", [2000.0] * 3)
    vacuum = _signature("vacuum", [1900.0] * 3)
    options = [
        Option((kettle,), 2000.0),
        Option((vacuum,), 1900.0),
        Option((kettle, vacuum), 3900.0),
    ]
    decision = classify(3905.0, None, options, noise_w=2.0)
    assert decision.best is not None
    assert {s.appliance_id for s in decision.best.signatures} == {"kettle", "vacuum"}
    assert decision.candidates[0][0] == "kettle"
    assert sum(c[2] for c in decision.candidates) == pytest.approx(1.0)
    assert classify(5000.0, None, options, noise_w=2.0).best is None


# Appliance states: (owner, labeled steps, reactive part of every step).
STATES = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.lists(st.floats(20.0, 3000.0), min_size=1, max_size=4),
        st.one_of(st.none(), st.floats(-800.0, 800.0)),
    ),
    min_size=2,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    STATES,
    st.floats(20.0, 6000.0),
    st.floats(0.0, 20.0),
)
def test_the_shortcuts_keep_what_the_gate_admits(
    states: list[tuple[int, list[float], float | None]], magnitude: float, noise: float
) -> None:
    """The all-at-once gates keep exactly the signatures, and the pairs of different appliances, that
    scoring one by one would admit."""
    signatures = [_signature(f"a{owner}", steps) for owner, steps, _ in states]
    singles = [
        k
        for k, signature in enumerate(signatures)
        if classify(magnitude, None, [Option((signature,))], noise).best is not None
    ]
    assert admitted(signatures, magnitude, noise) == singles
    pairs = [
        (a, b)
        for a, b in combinations(signatures, 2)
        if a.appliance_id != b.appliance_id
        and classify(magnitude, None, [Option((a, b))], noise).best is not None
    ]
    found = joint_candidates(signatures, magnitude, noise)
    assert [found.option(k).signatures for k in range(len(found))] == pairs


@settings(max_examples=80, deadline=None)
@given(
    STATES,
    st.floats(0.9, 1.1),
    st.floats(0.9, 1.1),
    st.one_of(st.none(), st.floats(-150.0, 150.0)),
    st.one_of(st.none(), st.floats(0.0, 2.0)),
    st.floats(0.0, 20.0),
)
# Two 100 W states whose pair reads 300 var, against a step of 450 var: its power factor rules the pair out.
@example(
    states=[(0, [100.0], 150.0), (1, [100.0], 150.0)],
    scale=1.0,
    rival=1.0,
    dq_off=150.0,
    inrush=None,
    noise=1.0,
)
def test_pairs_score_as_joint_options_do(
    states: list[tuple[int, list[float], float | None]],
    scale: float,
    rival: float,
    dq_off: float | None,
    inrush: float | None,
    noise: float,
) -> None:
    """Pairs scored all at once rank, name and weigh as the same pairs scored one by one as options.

    The step is about two states' sum (its reactive part too, up to where the power factor rules a pair
    out), and a single state of about that size competes with the pairs.
    """
    magnitude = scale * (states[0][1][0] + states[1][1][0])
    dq = None if dq_off is None else dq_off + sum(q or 0.0 for _, _, q in states[:2])
    signatures = [_signature(f"a{owner}", steps, q) for owner, steps, q in states]
    signatures.append(_signature("single", [rival * magnitude], dq))
    pairs = joint_candidates(signatures, magnitude, noise)
    singles = [Option((signature,)) for signature in signatures]
    at_once = classify(magnitude, dq, singles, noise, inrush, pairs)
    one_by_one = classify(
        magnitude, dq, singles + [pairs.option(k) for k in range(len(pairs))], noise, inrush
    )
    assert at_once.confidence == pytest.approx(one_by_one.confidence, rel=1e-9, abs=1e-12)
    together, alone = sorted(at_once.candidates), sorted(one_by_one.candidates)
    assert [c[:2] for c in together] == [c[:2] for c in alone]
    assert [c[2] for c in together] == pytest.approx([c[2] for c in alone], rel=1e-9, abs=1e-12)
    # The same winner, unless two options tie to the last digits.
    top = sorted((c[2] for c in alone), reverse=True)
    if len(top) < 2 or top[1] < top[0] * (1 - 1e-9):
        assert (at_once.best is None) == (one_by_one.best is None)
        if at_once.best is not None and one_by_one.best is not None:
            assert at_once.best.signatures == one_by_one.best.signatures


def test_a_lone_candidate_far_from_its_mean_is_not_certain() -> None:
    """The only signature that admits an event still doubts one three spreads away."""
    kettle = _signature("kettle", [2000.0, 2010.0, 1990.0, 2005.0, 1995.0])
    options = [Option((kettle,))]
    near = classify(kettle.power(), None, options, noise_w=2.0)
    assert near.confidence > 0.95
    sd = step_sd(kettle.profile().power.spread ** 2, kettle.power(), noise_w=2.0)
    far = classify(kettle.power() + 3.0 * sd, None, options, noise_w=2.0)
    assert far.best is not None
    assert far.candidates[0][2] == pytest.approx(1.0)
    assert far.confidence == pytest.approx(0.61, abs=0.02)
