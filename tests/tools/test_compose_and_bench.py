"""The tracebase composer on a small trace folder in tracebase's format, and the benchmark's building blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nilm_tools import bench
from nilm_tools.compose_tracebase import (
    DAY_S,
    baseload_w,
    main as compose_main,
    on_grid,
    read_trace,
)
from nilm_tools.evaluate import read_nilm_csv


def _trace(folder: Path, lines: list[str], name: str = "dev_000000_2012.01.01") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_traces_hold_each_reading_until_the_next(tmp_path: Path) -> None:
    _trace(
        tmp_path / "complete" / "Lamp",
        ["01/01/2012 00:00:00;0;0", "01/01/2012 00:00:10;60;55", "garbage"],
    )
    seconds, power = read_trace(tmp_path / "complete" / "Lamp" / "dev_000000_2012.01.01.csv")
    grid = on_grid(seconds, power)
    assert grid.size == DAY_S
    assert grid[9] == 0.0
    assert grid[10] == 60.0
    assert grid[-1] == 60.0


def test_composed_house_is_valid_nilm_csv(tmp_path: Path) -> None:
    _trace(tmp_path / "complete" / "Lamp", ["01/01/2012 00:00:00;0;0", "01/01/2012 06:00:00;60;60"])
    _trace(
        tmp_path / "complete" / "TV-LCD", ["02/01/2012 00:00:00;90;90", "02/01/2012 12:00:00;0;0"]
    )
    out = tmp_path / "house.csv"
    assert compose_main([str(tmp_path), str(out), "--days", "2", "--noise-w", "0"]) == 0
    data = read_nilm_csv(out)
    assert data.t.size == 2 * DAY_S
    assert set(data.appliances) == {"lamp", "tv_lcd"}
    residual = data.mains["mains_p"] - data.appliances["lamp"] - data.appliances["tv_lcd"]
    assert 69.0 <= residual.min() <= residual.max() <= 91.0


def test_each_seed_is_one_device_per_class_through_its_recorded_days(tmp_path: Path) -> None:
    """Two lamps recorded: the seed picks one; a house's days are that lamp's days in turn, never mixed."""
    for name, watts in (
        ("dev_AAAAAA_2012.01.01", 60),
        ("dev_AAAAAA_2012.01.02", 40),
        ("dev_BBBBBB_2012.01.01", 100),
    ):
        _trace(tmp_path / "complete" / "Lamp", [f"01/01/2012 00:00:00;{watts};{watts}"], name)
    houses = set()
    for seed in range(1, 11):
        out = tmp_path / f"house{seed}.csv"
        assert compose_main([str(tmp_path), str(out), "--days", "3", "--seed", str(seed)]) == 0
        lamp_w = read_nilm_csv(out).appliances["lamp"]
        houses.add(tuple(float(lamp_w[day * DAY_S]) for day in range(3)))
    assert houses == {(60.0, 40.0, 60.0), (100.0, 100.0, 100.0)}


def test_a_recorded_house_adds_unmetered_load_held_between_its_readings(tmp_path: Path) -> None:
    _trace(tmp_path / "complete" / "Lamp", ["01/01/2012 00:00:00;60;60"])
    background = tmp_path / "recorded.csv"
    origin = 1_400_000_000
    background.write_text(
        "timestamp,mains_p\n"
        f"{origin - 50},999\n{origin},100\n{origin + 1000},300\n{origin + DAY_S},0\n",
        encoding="utf-8",
    )
    out = tmp_path / "house.csv"
    args = [
        str(tmp_path),
        str(out),
        "--days",
        "1",
        "--noise-w",
        "0",
        "--background",
        str(background),
    ]
    assert compose_main([*args, "--background-start", str(origin), "--background-scale", "2"]) == 0
    data = read_nilm_csv(out)
    baseload = baseload_w(DAY_S)
    unmetered = data.mains["mains_p"] - data.appliances["lamp"] - baseload
    assert np.allclose(unmetered[:1000], 200.0, atol=0.06)
    assert np.allclose(unmetered[1000:], 600.0, atol=0.06)
    # Without a start the house starts at the recording's first reading.
    assert compose_main(args) == 0
    unmetered = read_nilm_csv(out).mains["mains_p"] - data.appliances["lamp"] - baseload
    assert np.allclose(unmetered[:50], 999.0, atol=0.06)
    assert np.allclose(unmetered[50:1050], 100.0, atol=0.06)
    # A recording that does not cover the house, has no reading or is missing: a clear error.
    assert compose_main([*args, "--background-start", str(origin - 100)]) == 2
    empty = tmp_path / "empty.csv"
    empty.write_text(f"timestamp,mains_p\n{origin},nan\n", encoding="utf-8")
    assert compose_main([*args[:-1], str(empty)]) == 2
    assert compose_main([*args[:-1], str(tmp_path / "missing.csv")]) == 2


def test_composer_reports_a_missing_folder(tmp_path: Path) -> None:
    assert compose_main([str(tmp_path / "nowhere"), str(tmp_path / "out.csv")]) == 2


def test_bench_building_blocks_measure_a_trained_engine() -> None:
    t, p, switches = bench.generate(days=2, seed=1)
    assert t.size == 2 * DAY_S
    assert switches
    engine = bench.trained_engine(t, p)
    assert {a.name for a in engine.snapshot().appliances.values()} <= {h[0] for h in bench.HOUSE}
    assert bench.replay_rate(engine, t[DAY_S : DAY_S + 7200], p[DAY_S : DAY_S + 7200], 3600) > 0
    assert bench.event_cost_ms(engine, float(t[-1]) + 10.0, repeats=20) > 0
    assert np.isfinite(bench.single_reading_rate(engine, t[-100:] + 1e5, p[-100:]))


def test_the_wide_house_is_many_appliances_at_minute_readings(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    bench.write_wide_house(path, rows=3000, appliances=8, seed=2)
    data = read_nilm_csv(path)
    assert len(data.appliances) == 8
    assert np.all(np.diff(data.t) == bench.WIDE_PERIOD_S)
    unmetered = data.mains["mains_p"] - sum(data.appliances.values())
    assert 120.0 < unmetered.min() <= unmetered.max() < 180.0
    assert np.allclose(data.mains["mains_q"], 0.2 * data.mains["mains_p"], atol=0.06)
    # Each appliance switches on and off, between 30 W and 3 kW (and a percent of drift).
    for power in data.appliances.values():
        assert (power == 0).any()
        assert 29.0 < power[power > 0].min() <= power.max() < 3100.0
    timing = bench.wide_house_seconds(rows=2000, seed=2)
    assert timing["rows"] == 2000
    assert 0 < timing["engine_s"] <= timing["wall_s"]
