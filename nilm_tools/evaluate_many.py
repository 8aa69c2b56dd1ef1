"""scripts/evaluate-many: the evaluation contract on many houses at once, and a change judged house by house.

Each NILM-CSV file is evaluated as `scripts/evaluate` evaluates it (the same options, the same metrics JSON,
one per file in OUT_DIR), in parallel processes. The table shows each house's macro state F1, event F1,
switch F1 and NEP, and their means. With `--against BASE_DIR` (the OUT_DIR of an earlier run: the engine
before a change) it also shows each house's change of macro state F1, their mean with its standard error, and
each appliance's mean state F1 before and after. A house's draw of traces and of the events its user labels
first moves its score by several hundredths; a change shows only in the mean of the paired differences.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
import json
import math
import multiprocessing
import os
from pathlib import Path
from statistics import fmean, stdev
import sys
from typing import Any

from .evaluate import (
    NAMING_PERFECT,
    add_protocol_arguments,
    evaluate,
    in_macro,
    protocol_options,
)
from .nilm_csv import DataError, read_nilm_csv


def run_one(data: Path, out: Path, options: dict[str, Any]) -> dict[str, Any] | str:
    """Evaluate one file and write its metrics JSON; returns the metrics, or an error line."""
    try:
        dataset = read_nilm_csv(data)
    except DataError as err:
        return f"{data}: {err}"
    metrics, _, _ = evaluate(dataset, progress=False, **options)
    out.write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics


def _scores(metrics: dict[str, Any]) -> tuple[float, float, float, float]:
    """A house's macro state F1, event F1, macro switch F1 and macro NEP."""
    macro = metrics["macro"]
    return macro["state_f1"], metrics["events"]["f1"], macro["switch_f1"], macro["nep"]


def _scored(metrics: dict[str, Any]) -> dict[str, float]:
    """State F1 of the appliances the macro average counts."""
    return {name: m["state_f1"] for name, m in metrics["appliances"].items() if in_macro(m)}


def format_summary(
    runs: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]] | None = None
) -> str:
    """Per house and mean scores; with a base run, the paired changes of macro state F1 and per appliance."""
    head = f"{'house':24s} {'state F1':>8s} {'event F1':>8s} {'switch F1':>9s} {'NEP':>6s}"
    lines = [head + ("  base state F1  change" if base is not None else "")]
    for name, metrics in runs.items():
        state, event, switch, nep = _scores(metrics)
        line = f"{name:24s} {state:8.3f} {event:8.3f} {switch:9.3f} {nep:6.2f}"
        if base is not None and name in base:
            before = _scores(base[name])[0]
            line += f"  {before:13.3f}  {state - before:+6.3f}"
        lines.append(line)
    means = [fmean(column) for column in zip(*(_scores(m) for m in runs.values()), strict=True)]
    lines.append(
        f"{f'mean ({len(runs)})':24s} {means[0]:8.3f} {means[1]:8.3f} {means[2]:9.3f} {means[3]:6.2f}"
    )
    if any(metrics.get("label_every_event") for metrics in runs.values()):
        lines.append(NAMING_PERFECT)
    if base is not None:
        lines += _changes(runs, base)
    return "\n".join(lines)


def _changes(runs: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]]) -> list[str]:
    """The mean paired change of macro state F1 with its standard error, and each appliance's mean change."""
    both = [name for name in runs if name in base]
    if not both:
        return ["no house is in both runs"]
    paired = [_scores(runs[name])[0] - _scores(base[name])[0] for name in both]
    error = stdev(paired) / math.sqrt(len(paired)) if len(paired) > 1 else math.nan
    lines = [
        (
            f"paired change of macro state F1: {fmean(paired):+.4f} "
            f"(standard error {error:.4f}, {len(paired)} houses)"
        ),
        "per appliance, mean state F1 over the houses that score it in both runs:",
    ]
    pairs: dict[str, list[tuple[float, float]]] = {}
    for name in both:
        earlier = _scored(base[name])
        for appliance, now in _scored(runs[name]).items():
            if appliance in earlier:
                pairs.setdefault(appliance, []).append((earlier[appliance], now))
    for appliance, values in sorted(pairs.items()):
        old, new = fmean(v[0] for v in values), fmean(v[1] for v in values)
        lines.append(
            f"  {appliance:22s} {old:.3f} -> {new:.3f} ({new - old:+.3f}, {len(values)} houses)"
        )
    return lines


def _read_base(base_dir: Path, names: list[str]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The base run's metrics of these houses, and a line for each house it lacks."""
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for name in names:
        path = base_dir / f"{name}.json"
        if path.is_file():
            found[name] = json.loads(path.read_text(encoding="utf-8"))
        else:
            missing.append(f"{path}: no base metrics for {name}")
    return found, missing


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/evaluate-many", description=__doc__.splitlines()[0]
    )
    parser.add_argument("out_dir", type=Path, help="where each house's metrics JSON is written")
    parser.add_argument("data", type=Path, nargs="+", help="NILM-CSV files (distinct file names)")
    parser.add_argument("--against", type=Path, help="OUT_DIR of an earlier run to compare with")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="houses evaluated at once, one process each (default: the number of cores)",
    )
    add_protocol_arguments(parser)
    args = parser.parse_args(argv)
    options = protocol_options(parser, args)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    names = [path.stem for path in args.data]
    if len(set(names)) != len(names):
        parser.error(
            "the data files need distinct names: each one's metrics are OUT_DIR/<name>.json"
        )
    if args.against is not None and not args.against.is_dir():
        parser.error(f"--against {args.against} is not a directory")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    outs = [args.out_dir / f"{name}.json" for name in names]
    if args.jobs == 1:
        results = [run_one(data, out, options) for data, out in zip(args.data, outs, strict=True)]
    else:
        # Spawned workers (the start method every platform has) import this checkout afresh and inherit
        # nothing else from this process.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=spawn) as pool:
            results = list(pool.map(run_one, args.data, outs, [options] * len(outs)))
    failed = [result for result in results if isinstance(result, str)]
    runs = {
        name: result
        for name, result in zip(names, results, strict=True)
        if not isinstance(result, str)
    }
    base = None
    if args.against is not None:
        base, missing = _read_base(args.against, list(runs))
        failed += missing
    if runs:
        print(format_summary(runs, base))
    for line in failed:
        print(f"evaluate-many: error: {line}", file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
