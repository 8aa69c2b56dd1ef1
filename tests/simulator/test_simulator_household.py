"""The synthetic household: deterministic, physically consistent, and valid for the meter endpoint."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from custom_components.nilm.meter import parse_reading
from nilm_tools.simulator import (
    Household,
    Motor,
    Phase,
    Programme,
    ResistiveLoad,
    ThermostaticMotor,
)

START = 1_700_000_000.0


def test_same_seed_same_trace_other_seed_differs() -> None:
    first = Household(7).simulate(START, 3600)
    again = Household(7).simulate(START, 3600)
    other = Household(8).simulate(START, 3600)
    np.testing.assert_array_equal(first.p, again.p)
    assert first.truth.keys() == again.truth.keys()
    assert not np.array_equal(first.p, other.p)


def test_appliance_truth_depends_on_absolute_time_not_on_the_window() -> None:
    long = Household(3).simulate(START, 4 * 3600)
    later = Household(3).simulate(START + 3600, 3 * 3600)
    for name in ("kettle", "fridge", "washing_machine", "lights", "tv"):
        np.testing.assert_array_equal(long.truth[name][3600:], later.truth[name], err_msg=name)


def test_mains_is_the_sum_of_the_appliances_plus_noise() -> None:
    trace = Household(1, noise_w=1.0).simulate(START, 6 * 3600)
    residual = trace.p - sum(trace.truth.values())
    assert abs(float(np.mean(residual))) < 0.1
    assert float(np.std(residual)) < 1.5
    assert set(trace.truth) == {"kettle", "fridge", "washing_machine", "lights", "tv", "baseload"}


def test_electrical_quantities_are_consistent() -> None:
    trace = Household(2).simulate(START, 3 * 3600)
    np.testing.assert_allclose(trace.v * trace.i, np.hypot(trace.p, trace.q), rtol=1e-9)
    np.testing.assert_allclose(trace.pf * np.hypot(trace.p, trace.q), trace.p, rtol=1e-9)
    assert np.all(np.diff(trace.e) >= 0)
    # About 1.1 kWh over three hours of an 80 W baseload, a fridge and whatever ran.
    expected_wh = float(np.sum(trace.p)) / 3600.0
    assert trace.e[-1] - trace.e[0] == pytest.approx(expected_wh, abs=2.0)


def test_energy_counter_continues_across_windows() -> None:
    household = Household(6)
    first = household.simulate(START, 600)
    second = household.simulate(START + 600, 600, energy_wh=float(first.e[-1]))
    assert second.e[0] == first.e[-1]
    assert np.all(np.diff(np.concatenate((first.e, second.e))) >= 0)


def test_every_sample_passes_the_endpoint_validation() -> None:
    samples = Household(4, activity=5.0).samples(START, 2 * 3600)
    assert len(samples) == 7200
    valid = [parse_reading(s.to_json(), "s", now=START + 7200) for s in samples]
    assert all(reading is not None for reading in valid)


def test_activity_scales_the_number_of_runs() -> None:
    calm = Household(5, activity=0.5).simulate(START, 12 * 3600)
    busy = Household(5, activity=4.0).simulate(START, 12 * 3600)

    def starts(power: np.ndarray) -> int:
        return int(np.sum(np.diff((power > 5).astype(int)) == 1))

    assert starts(busy.truth["kettle"]) > 2 * starts(calm.truth["kettle"])


def test_models_draw_their_documented_shapes() -> None:
    elapsed = np.arange(0.0, 60.0)
    rng = np.random.default_rng(0)
    kettle_p, kettle_q = ResistiveLoad("kettle", power_w=2000.0).profile(elapsed, rng)
    assert kettle_p[0] == 2000.0
    assert np.all(kettle_q == 0.0)
    motor_p, _ = Motor("pump", power_w=100.0, inrush_factor=5.0, inrush_s=1.0).profile(elapsed, rng)
    assert motor_p[0] == pytest.approx(500.0)
    assert motor_p[10] == pytest.approx(100.0, abs=0.05)
    washer = Programme(
        "washer",
        phases=(
            Phase("heat", 20.0, 2000.0),
            Phase("wash", 40.0, 200.0, period_s=10.0, pause_w=5.0),
        ),
    )
    washer_p, _ = washer.profile(elapsed, rng)
    assert washer_p[:20].tolist() == [2000.0] * 20
    assert washer_p[20:30].tolist() == [200.0] * 10
    assert washer_p[30:40].tolist() == [5.0] * 10


def test_thermostatic_cycles_never_overlap_and_keep_their_rhythm() -> None:
    fridge = ThermostaticMotor("fridge", on_s=600.0, off_s=1200.0)
    runs = fridge.runs((0, 1), START, START + 86400, activity=1.0)
    assert 46 <= len(runs) <= 50
    for before, after in itertools.pairwise(runs):
        assert before.start + before.duration < after.start


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="activity"):
        Household(0, activity=0.0)
    with pytest.raises(ValueError, match="positive"):
        Household(0).simulate(START, 0)
