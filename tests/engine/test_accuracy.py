"""Accuracy regression: the labeling protocol on shipped real data and on a generated house.

Thresholds sit below what was measured (noted per test), to catch regressions, not to flatter.
"""

from __future__ import annotations

from household import (
    DATA,
    House,
    Load,
    event_f1,
    make_house,
    read_nilm_csv,
    replay,
    reported_on_change,
    state_f1,
    truth_switches,
)
import numpy as np
import pytest

from custom_components.nilm.engine import Engine

LOADS = [
    Load("kettle", 2000.0, 20.0, (90.0, 240.0), 8),
    Load("fridge", 120.0, 90.0, (600.0, 1200.0), 10),
    Load("heater", 1500.0, 0.0, (600.0, 1800.0), 4),
    Load("microwave", 1100.0, 300.0, (60.0, 300.0), 6),
]


def _lab_house() -> House:
    header, rows = read_nilm_csv(DATA / "lab_1hz_pq.csv")
    column = {name: rows[:, k] for k, name in enumerate(header)}
    truth = {name: column[name] for name in ("kettle", "vacuum", "water_heater")}
    return House(column["timestamp"], column["mains_p"], column["mains_q"], truth)


def test_lab_recording_state_f1() -> None:
    """Real 1 Hz lab data (MIT, see data/lab_1hz_pq.SOURCE.txt); measured: kettle 0.88, vacuum 0.87."""
    house = _lab_house()
    estimate, _ = replay(Engine(), house)
    split = int(0.3 * house.t.size)
    scores = {
        name: state_f1(house.truth[name][split:], estimate[name][split:])
        for name in ("kettle", "vacuum")
    }
    assert scores["kettle"] >= 0.8
    assert scores["vacuum"] >= 0.8


@pytest.mark.parametrize("seed", [0, 1])
def test_generated_house_events_and_states(seed: int) -> None:
    """Six hours at 1 Hz with 1 % load drift; measured: event F1 0.98, state F1 0.99 for every load."""
    house = make_house(LOADS, 6 * 3600, seed=seed)
    estimate, event_times = replay(Engine(), house)
    split = int(0.3 * house.t.size)
    t_split = house.t[split]
    truth_times = [
        float(house.t[k])
        for x in house.truth.values()
        for k, dp in truth_switches(x)
        if k >= split and abs(dp) >= 50.0
    ]
    detected = [t for t in event_times if t >= t_split]
    assert event_f1(detected, truth_times, tolerance_s=3.0) >= 0.93
    for name, truth in house.truth.items():
        assert state_f1(truth[split:], estimate[name][split:]) >= 0.9, name


def test_generated_house_at_coarse_period() -> None:
    """The same house sampled every 5 s, fed in batches of 12 (a minute): measured macro state F1 0.97."""
    house = make_house(LOADS, 12 * 3600, seed=2, period_s=5.0)
    estimate, _ = replay(Engine(), house, batch=12, tolerance_s=7.5)
    split = int(0.3 * house.t.size)
    scores = [state_f1(x[split:], estimate[name][split:]) for name, x in house.truth.items()]
    assert float(np.mean(scores)) >= 0.85


def test_generated_house_read_by_a_meter_that_reports_on_change() -> None:
    """Twelve hours thinned to 10 W / 60 s reports (10 % of the rows), one reading per call.

    Measured macro state F1 0.93 (0.87 when the period was the mean interval and a held reading did not
    count: switches between two reports merged).
    """
    house = reported_on_change(make_house(LOADS, 12 * 3600, seed=5))
    estimate, _ = replay(Engine(), house, tolerance_s=60.0)
    split = int(0.3 * house.t.size)
    scores = [state_f1(x[split:], estimate[name][split:]) for name, x in house.truth.items()]
    assert float(np.mean(scores)) >= 0.9
