"""scripts/bench: speed and memory of the engine on a generated month of 1 Hz data.

Measures the per-sample path in replay (feed_arrays in hour-long batches), the cost of a call with one reading
(feed with one Sample, as a sensor source at 1 Hz calls it), the time per classified event, memory at days 1,
10, 20 and 30 of a 30-day replay (it must stay flat), how the combinatorial-optimisation baseline's search
grows with appliances, and the evaluation contract's time on a generated house of many appliances at minute
data (the contract asks for a 200,000-row file in under a minute).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import resource
import sys
import tempfile
import time
import tracemalloc
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.nilm.engine import Engine, EngineConfig, Sample
from custom_components.nilm.engine.combinatorial import search_cost

from .evaluate import evaluate
from .nilm_csv import read_nilm_csv

DAY_S = 86_400
# Appliances of the generated house: (name, power W, mean run s, uses per day).
HOUSE = (
    ("kettle", 2000.0, 180.0, 6),
    ("fridge", 120.0, 900.0, 40),
    ("washer", 500.0, 3600.0, 1),
    ("tv", 90.0, 7200.0, 2),
    ("lamp", 60.0, 10800.0, 2),
    ("oven", 2400.0, 2400.0, 1),
)
# The wide house: appliances of 1-3 levels at minute readings, each running minutes to two hours and resting
# half an hour to a day, so that dozens of states are off at most ONs (each ON weighs their pairs).
WIDE_APPLIANCES = 40
WIDE_PERIOD_S = 60.0


def generate(
    days: int, seed: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[int]]:
    """Timestamps, mains power and the indices where appliances switch, for `days` days at 1 Hz."""
    rng = np.random.default_rng(seed)
    n = days * DAY_S
    p = 150.0 + rng.normal(0.0, 2.0, n)
    switches: list[int] = []
    for _name, power, run_s, per_day in HOUSE:
        starts = rng.integers(0, n - int(run_s) - 1, per_day * days)
        for start in starts.tolist():
            stop = start + int(rng.uniform(0.7, 1.3) * run_s)
            p[start:stop] += power
            switches += [start, stop]
    t = 1.7e9 + np.arange(n, dtype=np.float64)
    return t, p, sorted(switches)


def trained_engine(t: NDArray[np.float64], p: NDArray[np.float64]) -> Engine:
    """An engine that has seen a day and had every event of it labeled by step size (as a user would)."""
    engine = Engine(EngineConfig())
    names = {round(power, -1): name for name, power, _, _ in HOUSE}
    for start in range(0, DAY_S, 3600):
        update = engine.feed_arrays(t[start : start + 3600], p[start : start + 3600])
        for event in update.events:
            closest = min(names, key=lambda w: abs(w - abs(event.dp)))
            engine.label_event(event.id, names[closest])
    return engine


def replay_rate(
    engine: Engine, t: NDArray[np.float64], p: NDArray[np.float64], batch: int
) -> float:
    """Samples per second of feed_arrays over the whole series."""
    start = time.perf_counter()
    for k in range(0, t.size, batch):
        engine.feed_arrays(t[k : k + batch], p[k : k + batch])
    return t.size / (time.perf_counter() - start)


def single_reading_rate(engine: Engine, t: NDArray[np.float64], p: NDArray[np.float64]) -> float:
    """Calls per second of feed() with one Sample each (a sensor source's path)."""
    samples = [Sample(tk, pk) for tk, pk in zip(t.tolist(), p.tolist(), strict=True)]
    start = time.perf_counter()
    for sample in samples:
        engine.feed([sample])
    return len(samples) / (time.perf_counter() - start)


def event_cost_ms(engine: Engine, t0: float, repeats: int = 400) -> float:
    """Milliseconds per classified event: short batches that each hold one kettle step (on, then off)."""
    base = 150.0
    start = time.perf_counter()
    t = t0
    for k in range(repeats):
        level = base + (2000.0 if k % 2 == 0 else 0.0)
        times = t + np.arange(8, dtype=np.float64)
        engine.feed_arrays(times, np.full(8, level))
        t += 8.0
    return (time.perf_counter() - start) / repeats * 1000.0


def memory_profile(days: int, seed: int) -> list[dict[str, float]]:
    """Traced Python memory and peak RSS at days 1, 10, 20, 30 of a replay (must stay flat)."""
    t, p, _ = generate(days, seed)
    engine = trained_engine(t, p)
    checkpoints = {1, 10, 20, 30, days}
    rows = []
    tracemalloc.start()
    for day in range(1, days + 1):
        lo, hi = (day - 1) * DAY_S, day * DAY_S
        for k in range(lo, hi, 3600):
            engine.feed_arrays(t[k : min(hi, k + 3600)], p[k : min(hi, k + 3600)])
        if day in checkpoints:
            current, _peak = tracemalloc.get_traced_memory()
            state_bytes = len(json.dumps(engine.to_dict()))
            rows.append(
                {
                    "day": day,
                    "traced_mb": current / 1e6,
                    "state_json_kb": state_bytes / 1e3,
                    "events_kept": len(engine.events("all")),
                    "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
                }
            )
    tracemalloc.stop()
    return rows


def write_wide_house(path: Path, rows: int, appliances: int, seed: int) -> None:
    """A NILM-CSV house of many appliances at minute readings (mains with reactive power, and each truth)."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((rows, appliances))
    for column in truth.T:
        levels = rng.uniform(30.0, 3000.0, rng.integers(1, 4))
        run_rows, rest_rows = rng.uniform(2.0, 120.0), rng.uniform(30.0, 1500.0)
        k = int(rng.integers(0, 200))
        while k < rows:
            length = max(1, int(rng.exponential(run_rows)))
            column[k : k + length] = rng.choice(levels) * (1.0 + 0.01 * rng.standard_normal())
            k += length + max(1, int(rng.exponential(rest_rows)))
    mains = truth.sum(axis=1) + 150.0 + rng.normal(0.0, 3.0, rows)
    t = 1.7e9 + WIDE_PERIOD_S * np.arange(rows)
    table = np.column_stack([t, mains, 0.2 * mains, truth])
    names = ",".join(f"load{k:02d}" for k in range(appliances))
    header = f"# generated wide house (scripts/bench)\ntimestamp,mains_p,mains_q,{names}"
    fmt = ["%.0f", *["%.1f"] * (appliances + 2)]
    np.savetxt(path, table, fmt=fmt, delimiter=",", header=header, comments="")


def wide_house_seconds(rows: int, seed: int) -> dict[str, float]:
    """Wall and engine seconds of the evaluation contract (5 labels each) on a generated wide house."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wide.csv"
        write_wide_house(path, rows, WIDE_APPLIANCES, seed)
        start = time.perf_counter()
        metrics, _, _ = evaluate(
            read_nilm_csv(path),
            train_fraction=0.3,
            labels_per_appliance=5,
            tolerance_s=None,
            method="engine",
            progress=False,
        )
    return {
        "rows": rows,
        "appliances": WIDE_APPLIANCES,
        "wall_s": time.perf_counter() - start,
        "engine_s": float(metrics["engine_seconds"]),
    }


def run(days: int, seed: int, wide_rows: int) -> dict[str, Any]:
    """All measurements."""
    t, p, switches = generate(days, seed)
    engine = trained_engine(t, p)
    replay = replay_rate(engine, t[DAY_S:], p[DAY_S:], 3600)
    single_calls = single_reading_rate(
        trained_engine(t, p), t[DAY_S : 2 * DAY_S], p[DAY_S : 2 * DAY_S]
    )
    return {
        "days": days,
        "samples": int(t.size),
        "switches": len(switches),
        "replay_samples_per_s": replay,
        "single_reading_calls_per_s": single_calls,
        "ms_per_classified_event": event_cost_ms(engine, float(t[-1]) + 10.0),
        "memory": memory_profile(days, seed),
        "co_search_cost": search_cost(max_states=14),
        "wide_house": wide_house_seconds(wide_rows, seed),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days",
        type=int,
        default=30,
        help="days of generated 1 Hz readings to replay (default 30)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the generated house (default 0)"
    )
    parser.add_argument(
        "--wide-rows",
        type=int,
        default=200_000,
        help="rows of the generated wide house at 60 s (default 200,000)",
    )
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args(argv)
    results = run(max(2, args.days), args.seed, max(1000, args.wide_rows))
    print(f"replay (feed_arrays, 1 h batches): {results['replay_samples_per_s']:,.0f} samples/s")
    print(f"one reading per call (feed): {results['single_reading_calls_per_s']:,.0f} calls/s")
    print(f"classified event: {results['ms_per_classified_event']:.3f} ms")
    for row in results["memory"]:
        print(
            f"day {row['day']:>3}: traced {row['traced_mb']:.2f} MB, state {row['state_json_kb']:.0f} kB, "
            f"{row['events_kept']} events kept, max RSS {row['max_rss_mb']:.0f} MB"
        )
    print(
        "CO baseline, exhaustive search: "
        + ", ".join(
            f"{int(r['states'])} states {r['us_per_sample']:.1f} us/sample"
            for r in results["co_search_cost"][::3]
        )
    )
    wide = results["wide_house"]
    print(
        f"evaluation contract on a wide house ({wide['rows']:,} rows at 60 s, {wide['appliances']} "
        f"appliances): {wide['wall_s']:.1f} s, engine {wide['engine_s']:.1f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
