"""scripts/compose-tracebase: a 1 s test house in NILM-CSV from real tracebase appliance traces.

Each full-day trace (`complete/<Class>/dev_<device>_<date>.csv`, "dd/mm/yyyy HH:MM:SS;P1s;P8s") is put on a
common 1 s grid (a reading holds until the next one, as a plug meter's does). The seed picks one device of each
class (a house has one kettle), and the composed days go through that device's recorded days in turn. Every
composed day rotates its trace by a random offset (seeded), so appliances are used at other hours on other days
and the labeling period sees them; the sum with a slowly drifting baseload (`baseload_w`) and meter noise is
`mains_p`, the traces are the ground truth. A real house has loads nobody meters: `--background` adds a recorded
whole-house mains (NILM-CSV) to `mains_p`, each of its readings held until the next, as load without ground
truth. Contains information from the tracebase data set (ODbL 1.0; Reinhardt et al., SustainIT 2012).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
import sys

import numpy as np
from numpy.typing import NDArray

from .nilm_csv import DataError, read_nilm_csv

DAY_S = 86_400
# Reads above this are meter glitches (no household socket delivers it).
MAX_SOCKET_W = 3_700.0


def read_trace(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Seconds since the trace's midnight and the 1 s power of one tracebase file."""
    seconds: list[float] = []
    power: list[float] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split(";")
        if len(parts) < 2:
            continue
        try:
            stamp = datetime.strptime(parts[0].strip(), "%d/%m/%Y %H:%M:%S").replace(tzinfo=UTC)
            watts = float(parts[1])
        except ValueError:
            continue
        seconds.append(stamp.hour * 3600 + stamp.minute * 60 + stamp.second)
        power.append(min(max(watts, 0.0), MAX_SOCKET_W))
    return np.array(seconds), np.array(power)


def on_grid(seconds: NDArray[np.float64], power: NDArray[np.float64]) -> NDArray[np.float64]:
    """The trace on a 1 s grid over one day: each reading holds until the next."""
    grid = np.zeros(DAY_S)
    if seconds.size == 0:
        return grid
    order = np.argsort(seconds, kind="stable")
    idx = np.searchsorted(seconds[order], np.arange(DAY_S), side="right") - 1
    valid = idx >= 0
    grid[valid] = power[order][idx[valid]]
    return grid


def baseload_w(n: int) -> NDArray[np.float64]:
    """The always-on load under the traces, one value per second: 80 W drifting 10 W either way over a day."""
    return 80.0 + 10.0 * np.sin(np.arange(n) / DAY_S * 2 * np.pi)


def _device(path: Path) -> str:
    """The device a trace file records: `dev_<id>` of `dev_<id>_<date>.csv` (the whole name otherwise)."""
    parts = path.stem.split("_")
    return "_".join(parts[:2]) if len(parts) >= 3 and parts[0] == "dev" else path.stem


def compose(
    root: Path, seed: int, start: float, noise_w: float, days: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    """Timestamps, mains and ground truth of the composed house."""
    # Devices are picked from a stream of their own, so the offsets of a seed do not depend on how many
    # devices a class has.
    pick = np.random.default_rng((seed, 1))
    days_of: dict[str, list[Path]] = {}
    for folder in sorted(p for p in (root / "complete").iterdir() if p.is_dir()):
        devices: dict[str, list[Path]] = {}
        for path in sorted(folder.glob("*.csv")):
            devices.setdefault(_device(path), []).append(path)
        if devices:
            chosen = sorted(devices)[int(pick.integers(len(devices)))]
            days_of[folder.name.lower().replace("-", "_")] = devices[chosen]
    if not days_of:
        raise ValueError(f"no traces under {root / 'complete'}")
    rng = np.random.default_rng(seed)
    appliances: dict[str, NDArray[np.float64]] = {}
    for name, paths in days_of.items():
        grids = [on_grid(*read_trace(path)) for path in paths[:days]]
        appliances[name] = np.concatenate(
            [np.roll(grids[day % len(grids)], int(rng.integers(DAY_S))) for day in range(days)]
        )
    n = days * DAY_S
    t = start + np.arange(n, dtype=np.float64)
    mains = baseload_w(n) + sum(appliances.values()) + rng.normal(0.0, noise_w, n)
    return t, np.round(mains, 1), appliances


def background_load(
    path: Path, t: NDArray[np.float64], start: float | None, scale: float
) -> NDArray[np.float64]:
    """A recorded house's `mains_p` on the composed house's clock, from `start` (its first reading if None).

    Each reading holds until the next, as an on-change meter's does; the recording must cover the house.
    """
    data = read_nilm_csv(path, need_truth=False)
    readable = np.isfinite(data.mains["mains_p"])
    bt, bp = data.t[readable], data.mains["mains_p"][readable]
    if bt.size == 0:
        raise ValueError(f"{path} has no mains_p reading")
    origin = float(bt[0]) if start is None else start
    clock = origin + (t - t[0])
    if clock[0] < bt[0] or clock[-1] > bt[-1]:
        raise ValueError(
            f"{path} covers {bt[0]:.0f}-{bt[-1]:.0f}, not the {clock[-1] - clock[0] + 1:.0f} s "
            f"from {origin:.0f} the house needs"
        )
    return scale * bp[np.searchsorted(bt, clock, side="right") - 1]


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/compose-tracebase", description=__doc__.splitlines()[0]
    )
    parser.add_argument("tracebase", type=Path, help="the tracebase folder (holding complete/)")
    parser.add_argument("output", type=Path, help="NILM-CSV file to write")
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        help="which device of each class and which offsets make the house (default 1); each seed is "
        "another house",
    )
    parser.add_argument(
        "--start", type=float, default=1_325_376_000.0, help="Unix time of the day's start"
    )
    parser.add_argument(
        "--noise-w", type=float, default=2.0, help="meter noise (standard deviation, W)"
    )
    parser.add_argument(
        "--days",
        type=int,
        default=3,
        help="days to compose (each takes the device's next recorded day and rotates it anew)",
    )
    parser.add_argument(
        "--background",
        type=Path,
        help="NILM-CSV of a recorded house whose mains_p is added as load nobody meters",
    )
    parser.add_argument(
        "--background-start",
        type=float,
        help="Unix time in the background recording where the house starts (default its first reading)",
    )
    parser.add_argument(
        "--background-scale",
        type=float,
        default=1.0,
        help="multiply the background's power by this (default 1)",
    )
    args = parser.parse_args(argv)
    comments = [
        "# test house composed from tracebase full-day traces (ODbL 1.0, Reinhardt et al., SustainIT 2012)"
    ]
    try:
        t, mains, appliances = compose(
            args.tracebase, args.seed, args.start, args.noise_w, max(1, args.days)
        )
        if args.background is not None:
            extra = background_load(
                args.background, t, args.background_start, args.background_scale
            )
            mains = np.round(mains + extra, 1)
            since = "" if args.background_start is None else f" from {args.background_start:.0f}"
            comments.append(
                f"# plus unmetered load: mains_p of {args.background.name} x {args.background_scale:g}{since}"
            )
    except (OSError, ValueError, DataError) as err:
        print(f"compose-tracebase: error: {err}", file=sys.stderr)
        return 2
    names = list(appliances)
    table = np.column_stack([t, mains, *(appliances[n] for n in names)])
    header = "\n".join([*comments, ",".join(["timestamp", "mains_p", *names])])
    np.savetxt(
        args.output,
        table,
        delimiter=",",
        header=header,
        comments="",
        fmt=["%d", "%.1f"] + ["%.0f"] * len(names),
    )
    print(f"compose-tracebase: {t.size} rows, {len(names)} appliances -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
