"""Event detection: steps between steady levels, transients, gaps and the adaptive threshold."""

from __future__ import annotations

from household import DATA, read_nilm_csv
from hypothesis import given, strategies as st
import numpy as np
import pytest

from custom_components.nilm.engine.detector import Detector, baseload_of


def _run(p: list[float], t: list[float] | None = None, threshold: float = 30.0):
    detector = Detector(threshold, gap_s=300.0)
    times = t if t is not None else [float(k) for k in range(len(p))]
    return detector, detector.process(times, p, None, None)


def test_step_is_measured_between_steady_means() -> None:
    """A slow rise over several samples gives the full step, timed at its start."""
    p = [100.0] * 10 + [400.0, 800.0, 1100.0] + [1100.0] * 10
    _, steps = _run(p)
    assert len(steps) == 1
    assert steps[0].dp == pytest.approx(1000.0, abs=1.0)
    assert steps[0].t == 10.0
    assert steps[0].transient_s == pytest.approx(2.0)


def test_spike_is_a_transient_not_two_events() -> None:
    """A one-sample spike returning to the same level is no event; an inrush is overshoot of one."""
    p = [100.0] * 10 + [3000.0] + [100.0] * 10
    _, steps = _run(p)
    assert steps == []
    _, steps = _run([100.0] * 10 + [2500.0, 1100.0] + [1100.0] * 10)
    assert len(steps) == 1
    assert steps[0].overshoot_w == pytest.approx(1400.0, abs=1.0)


@pytest.mark.parametrize(
    ("between", "end", "sizes"),
    [
        # A drum on (+150), a second later a kettle off (-2,000): the level rose before it fell.
        ([3150.0], 1150.0, [150, -2000]),
        ([3150.0, 3160.0], 1155.0, [155, -2000]),
        # The kettle off first, then the drum on: the level fell below where it settled.
        ([1000.0], 1150.0, [-2000, 150]),
    ],
)
def test_a_reading_the_wrong_way_is_a_second_load_switching(
    between: list[float], end: float, sizes: list[int]
) -> None:
    """Readings that went the other way from the old level, or below the new one, are two steps."""
    _, steps = _run([3000.0] * 10 + between + [end] * 10)
    assert [round(s.dp) for s in steps] == sizes
    assert [s.t for s in steps] == [10.0, 10.0 + len(between)]
    assert steps[0].level_after == steps[1].level_before


def test_an_inrush_or_a_coarse_reading_the_wrong_way_stays_one_step() -> None:
    """One load overshoots its own way (a motor's start); a 3 s reading averages two switchings."""
    _, steps = _run([1000.0] * 10 + [1700.0] + [1200.0] * 10)
    assert [round(s.dp) for s in steps] == [200]
    seconds = [3.0 * k for k in range(21)]
    _, steps = _run([3000.0] * 10 + [3150.0] + [1150.0] * 10, seconds)
    assert [round(s.dp) for s in steps] == [-1850]


def test_small_changes_below_threshold_are_ignored() -> None:
    _, steps = _run([100.0] * 10 + [120.0] * 10, threshold=30.0)
    assert steps == []
    _, steps = _run([100.0] * 10 + [140.0] * 10, threshold=30.0)
    assert [round(s.dp) for s in steps] == [40]


def test_no_event_across_a_gap() -> None:
    """The first sample after a gap re-anchors the level instead of making a step."""
    t = [float(k) for k in range(10)] + [1000.0 + k for k in range(10)]
    p = [100.0] * 10 + [2100.0] * 10
    _, steps = _run(p, t)
    assert steps == []


def test_threshold_adapts_to_meter_noise() -> None:
    """On a noisy meter the threshold rises above the configured minimum, and noise makes no events."""
    rng = np.random.default_rng(3)
    p = (500.0 + rng.normal(0.0, 15.0, 3000)).tolist()
    detector, steps = _run(p, threshold=30.0)
    assert detector.threshold() > 60.0
    assert steps == []


def _plug_meter_wash(seed: int, step_w: float) -> np.ndarray:
    """A house at 300 W; a washer whose plug meter held each 100-400 W reading for 4-10 s runs half an
    hour; 2 minutes after it a load of step_w switches on. One reading per second."""
    rng = np.random.default_rng(seed)
    held: list[float] = []
    while len(held) < 1800:
        held += [rng.uniform(100.0, 400.0)] * int(rng.integers(4, 11))
    load = np.concatenate([np.zeros(1200), held[:1800], np.zeros(120), np.full(600, step_w)])
    return 300.0 + load + rng.normal(0.0, 2.0, load.size)


@pytest.mark.parametrize("seed", range(4))
def test_a_load_s_fluctuation_is_not_the_meter_s_noise(seed: int) -> None:
    """Read every 6 s, the washer's held readings jump by 0 W or by hundreds: on a steady level, its jumps
    count up to 3 times the noise so far, so the noise stays the meter's and the 120 W load after the
    wash is a step at the configured threshold (a plain mean of the jumps raised it to 19 W of noise and
    missed the step)."""
    p = _plug_meter_wash(seed, 120.0)[::6]
    detector, steps = _run(p.tolist(), [6.0 * k for k in range(p.size)])
    after = [s for s in steps if s.t >= 3120.0]
    assert [round(s.dp, -1) for s in after] == [120.0]
    assert after[0].threshold_w < 35.0
    assert detector.noise_w < 4.0


def test_a_minute_reading_s_jumps_are_its_noise() -> None:
    """The same readings a minute apart are averages, whose jumps are loads switching within them: the
    noise follows them whole."""
    p = _plug_meter_wash(0, 120.0)[::6].tolist()
    sampled, _ = _run(p, [6.0 * k for k in range(len(p))])
    averaged, _ = _run(p, [60.0 * k for k in range(len(p))])
    assert averaged.noise_w > 4 * sampled.noise_w


def test_a_meter_that_read_flat_still_learns_its_noise() -> None:
    """A meter whose first readings did not move at all (noise 0) learns its noise when it starts to."""
    rng = np.random.default_rng(6)
    p = np.concatenate([np.full(300, 500.0), 500.0 + rng.normal(0.0, 15.0, 3000)])
    detector, steps = _run(p.tolist())
    assert detector.noise_w > 8.0
    assert steps == []


def test_a_flat_minute_meter_without_a_threshold_keeps_a_number_for_its_noise() -> None:
    """Minute readings count their jumps unclipped; with no configured threshold and 200 flat readings first,
    the cap was infinity times a noise of 0 (NaN), and the noise became NaN."""
    rng = np.random.default_rng(2)
    p = np.concatenate([np.full(200, 400.0), 400.0 + rng.normal(0.0, 10.0, 300)])
    detector, _ = _run(p.tolist(), [60.0 * k for k in range(p.size)], threshold=0.0)
    assert 3.0 < detector.noise_w < 15.0


def test_noisy_level_raises_the_local_threshold() -> None:
    """A fluctuating load (a motor) does not make events out of its own fluctuation."""
    rng = np.random.default_rng(4)
    quiet = 100.0 + rng.normal(0.0, 1.0, 200)
    noisy = 2100.0 + rng.normal(0.0, 25.0, 600)
    _, steps = _run(np.concatenate([quiet, noisy, quiet]).tolist())
    assert [round(s.dp, -2) for s in steps] == [2000.0, -2000.0]


def test_reactive_and_current_steps() -> None:
    detector = Detector(30.0, 300.0)
    t = [float(k) for k in range(20)]
    p = [100.0] * 10 + [1100.0] * 10
    q = [10.0] * 10 + [310.0] * 10
    i = [0.5] * 10 + [4.8] * 10
    (step,) = detector.process(t, p, q, i)
    assert step.dq == pytest.approx(300.0)
    assert step.di == pytest.approx(4.3)


def test_state_carries_across_batches() -> None:
    """Feeding sample by sample finds the same step as one batch."""
    detector = Detector(30.0, 300.0)
    p = [100.0] * 10 + [600.0] * 10
    found = []
    for k, value in enumerate(p):
        # An index is relative to the batch that confirms the step: negative for earlier batches.
        found += [
            (k + s.index, round(s.dp)) for s in detector.process([float(k)], [value], None, None)
        ]
    assert found == [(10, 500)]
    assert detector.level_w == pytest.approx(600.0)


def test_switch_is_timed_at_the_first_big_jump() -> None:
    """Drift before the switch (a partly averaged sample, another load's ripple) does not time the event."""
    t = [60.0 * k for k in range(14)]
    p = [290.0] * 6 + [266.0, 216.0] + [1318.0] * 6
    _, steps = _run(p, t)
    assert len(steps) == 1
    assert steps[0].t == 480.0
    assert steps[0].index == 8


def test_never_settling_transition_reanchors() -> None:
    """A ramp that never settles re-anchors after MAX_TRANSITION_S instead of holding forever."""
    p = [100.0] * 5 + [100.0 + 300.0 * (k % 2) for k in range(800)] + [1100.0] * 10
    _, steps = _run(p)
    # The step to 1,100 W is measured from where the flicker was re-anchored, not from 100 W 800 s before.
    assert [(s.t, round(s.dp), round(s.level_before)) for s in steps] == [(805.0, 900, 200)]


def test_coarse_periods_settle_on_two_samples() -> None:
    t = [60.0 * k for k in range(12)]
    p = [200.0] * 6 + [1200.0] * 6
    detector, steps = _run(p, t)
    assert detector.settle_n == 2
    assert [round(s.dp) for s in steps] == [1000]


def _fridge_start(period: float) -> tuple[list[float], list[float]]:
    """100 W, then a fridge for a minute from 20 s: an inrush, 160 and 130 W for a second each, then 120 W."""
    tail = {0: 600.0, 1: 160.0, 2: 130.0}
    times = [k * period for k in range(round(90.0 / period))]
    p = [100.0 + (tail.get(int(tk - 20.0), 120.0) if 20.0 <= tk < 80.0 else 0.0) for tk in times]
    return times, p


@pytest.mark.parametrize("period", [0.5, 0.25, 0.1])
def test_below_a_second_a_level_spans_what_three_1_s_readings_do(period: float) -> None:
    """A faster meter measures a step as a 1 s meter does: its level after a switch spans the same 3 s.

    With three half-second readings it had measured a fridge's start's tail (ONs at 150 W against its 110 W
    OFFs, which then did not end it).
    """
    times_1_s, p_1_s = _fridge_start(1.0)
    _, at_1_s = _run(p_1_s, times_1_s)
    times, p = _fridge_start(period)
    detector, faster = _run(p, times)
    assert detector.settle_n == round(3.0 / period)
    assert 120.0 < at_1_s[0].dp < 125.0
    assert [s.dp for s in faster] == pytest.approx([s.dp for s in at_1_s], abs=1.0)
    # The same fed a reading at a time, as a sensor source feeds them.
    one_by_one = Detector(30.0, gap_s=300.0)
    single = [
        s.dp
        for tk, pk in zip(times, p, strict=True)
        for s in one_by_one.process([tk], [pk], None, None)
    ]
    assert single == pytest.approx([s.dp for s in faster], abs=1e-9)


def test_a_minute_meter_reads_as_one_from_its_second_reading() -> None:
    """The period is a plain mean at first: the first step of a 1-min meter settles on two samples."""
    detector = Detector(30.0, gap_s=300.0)
    steps = []
    # One reading per call, as a sensor source feeds them.
    for k, p in enumerate([200.0, 200.0, 1200.0, 1200.0]):
        steps += detector.process([60.0 * k], [p], None, None)
    assert detector.period_s == 60.0
    assert [round(s.dp) for s in steps] == [1000]


def _reports_on_change() -> tuple[list[float], list[float]]:
    """A meter that reports each second while loads switch, and once a minute while all is steady.

    100 W; a kettle (+2 kW) at 30 s, reported again 40 s later; a heater (+1 kW) 25 s after that, then a
    minute of silence each.
    """
    t = [float(k) for k in range(30)] + [30.0, 70.0, 95.0, 155.0, 215.0]
    p = [100.0] * 30 + [2100.0, 2100.0, 3100.0, 3100.0, 3100.0]
    return t, p


@pytest.mark.parametrize("batch", [1, 5, 100])
def test_a_reading_that_held_is_a_settled_level(batch: int) -> None:
    """Each report of a meter that reports on change is a level it held until the next: two steps, not one."""
    t, p = _reports_on_change()
    detector = Detector(30.0, gap_s=300.0)
    steps = []
    for start in range(0, len(t), batch):
        steps += detector.process(t[start : start + batch], p[start : start + batch], None, None)
    assert [(s.t, round(s.dp)) for s in steps] == [(30.0, 2000), (95.0, 1000)]
    # The meter resolves seconds: a coarse meter's two-sample levels do not apply to it.
    assert detector.period_s < 5.0
    # Repeated readings are not evidence of a quiet meter: the noise is learned from real readings only (29
    # quiet seconds after the first, and the three reports at a level held before them).
    assert detector.noise_samples == 29 + 3


def test_the_period_follows_a_meter_that_speeds_up() -> None:
    """A minute meter that starts reporting every second reads as a 1 s meter within a few readings."""
    t = [60.0 * k for k in range(10)] + [540.0 + k for k in range(1, 31)]
    detector, _ = _run([100.0] * len(t), t)
    assert detector.period_s < 1.1
    assert detector.settle_n == 3


def test_a_real_meter_reporting_on_change_reads_as_the_second_it_resolves() -> None:
    """A day of a real whole-house meter: readings a second apart while loads switch, quiet for seconds to an
    hour otherwise. Its quiet intervals are holds, not its resolution (they made it read as 2.8 s)."""
    _, rows = read_nilm_csv(DATA / "gjw_change_only_day.csv")
    detector = Detector(30.0, gap_s=300.0)
    detector.process(rows[:, 0].tolist(), rows[:, 1].tolist(), rows[:, 2].tolist(), None)
    assert detector.period_s < 1.1


def test_the_period_follows_a_meter_that_slows_down() -> None:
    """A 1 s meter set to report every 10 s reads as a coarse meter (levels of two samples) within 70 minutes."""
    t = [float(k) for k in range(30)] + [29.0 + 10.0 * k for k in range(1, 421)]
    detector, _ = _run([100.0] * len(t), t)
    assert detector.period_s > 5.0
    assert detector.settle_n == 2


def test_a_regular_meter_is_not_held() -> None:
    """A meter that reports every 6 s has a period of 6 s: nothing is repeated, levels settle on 2 samples."""
    t = [6.0 * k for k in range(20)]
    p = [200.0] * 10 + [1200.0] * 10
    detector, steps = _run(p, t)
    assert detector.period_s == 6.0
    assert [(s.t, round(s.dp)) for s in steps] == [(60.0, 1000)]


def test_nothing_holds_across_an_outage() -> None:
    """After the source was lost, the first reading anchors anew, however soon it comes."""
    detector = Detector(30.0, gap_s=300.0)
    detector.process([float(k) for k in range(10)], [100.0] * 10, None, None)
    detector.gap()
    steps = detector.process([60.0 + k for k in range(10)], [2100.0] * 10, None, None)
    assert steps == []
    assert detector.level_w == 2100.0


@given(
    st.lists(st.floats(min_value=0.0, max_value=5000.0), max_size=24),
    st.one_of(st.floats(min_value=-100.0, max_value=5000.0), st.just(float("inf"))),
)
def test_baseload_is_the_low_quantile_of_the_hourly_minima(
    minima: list[float], lowest: float
) -> None:
    """Followed reading by reading without sorting; the same as sorting the minima with the hour's low."""
    lows = sorted([*minima, *([max(0.0, lowest)] if lowest != float("inf") else [])])
    expected = lows[len(lows) // 10] if lows else None
    assert baseload_of(sorted(minima), lowest) == expected
