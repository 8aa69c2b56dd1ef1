"""The combinatorial-optimisation baseline and its search cost."""

from __future__ import annotations

import numpy as np
import pytest

from custom_components.nilm.engine import CombinatorialEngine
from custom_components.nilm.engine.combinatorial import co_disaggregate, search_cost


def test_co_picks_the_best_matching_combination() -> None:
    mains = np.array([0.0, 2000.0, 2110.0, 110.0, 900.0])
    out = co_disaggregate(mains, [("k", 2000.0), ("f", 100.0), ("t", 800.0)])
    assert out["k"].tolist() == [0.0, 2000.0, 2000.0, 0.0, 0.0]
    assert out["f"].tolist() == [0.0, 0.0, 100.0, 100.0, 100.0]
    assert out["t"].tolist() == [0.0, 0.0, 0.0, 0.0, 800.0]
    assert co_disaggregate(mains, []) == {}


def test_combinatorial_engine_behind_the_same_interface() -> None:
    engine = CombinatorialEngine()
    p = np.concatenate([np.full(20, 100.0), np.full(30, 1100.0), np.full(30, 100.0)])
    t = 1_700_000_000.0 + np.arange(p.size, dtype=float)
    on = engine.feed_arrays(t[:30], p[:30]).events[0]
    heater = engine.label_event(on.id, "heater")
    powers: dict[str, np.ndarray] = {}
    engine.feed_arrays(t[30:], p[30:], powers=powers)
    assert powers[heater.id][:20] == pytest.approx(np.full(20, 1000.0))
    assert powers[heater.id][-10:] == pytest.approx(np.zeros(10))
    assert engine.state_powers() == [(heater.id, 1000.0)]


def test_search_cost_grows_exponentially() -> None:
    rows = search_cost(max_states=10, samples=200)
    assert [r["combinations"] for r in rows] == [2.0**n for n in range(1, 11)]
    assert rows[-1]["us_per_sample"] > rows[0]["us_per_sample"]
