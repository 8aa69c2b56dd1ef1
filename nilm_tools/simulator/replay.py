"""Replay of a NILM-CSV recording (docs: ../shared evaluation contract) as meter samples.

Only the mains columns are read: the meter does not know the appliances. The energy counter is integrated from P
because NILM-CSV carries none.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .sample import FloatArray, MeterSample, energy_counter, samples_from_columns

MAINS_COLUMNS = ("mains_v", "mains_i", "mains_pf")


class CsvFormatError(ValueError):
    """The file is not NILM-CSV; the message says where."""


def _float(cell: str) -> float:
    try:
        return float(cell) if cell.strip() else float("nan")
    except ValueError:
        return float("nan")


def read_mains(path: Path) -> dict[str, FloatArray]:
    """Columns timestamp and mains_p (required) and mains_v, mains_i, mains_pf (when present)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(line for line in handle if not line.startswith("#"))
        header = next(rows, None)
        if header is None:
            raise CsvFormatError(f"{path}: no header row")
        names = [name.strip() for name in header]
        for required in ("timestamp", "mains_p"):
            if required not in names:
                raise CsvFormatError(f"{path}: no '{required}' column")
        wanted = {
            name: names.index(name)
            for name in ("timestamp", "mains_p", *MAINS_COLUMNS)
            if name in names
        }
        columns: dict[str, list[float]] = {name: [] for name in wanted}
        for line, row in enumerate(rows, start=2):
            if len(row) != len(names):
                raise CsvFormatError(
                    f"{path}: data row {line} has {len(row)} cells, header has {len(names)}"
                )
            for name, index in wanted.items():
                columns[name].append(_float(row[index]))
    data = {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}
    t = data["timestamp"]
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        raise CsvFormatError(f"{path}: timestamps must be numbers in ascending order")
    return data


def replay_samples(path: Path, start: float | None = None) -> list[MeterSample]:
    """The recording's mains as meter samples, shifted so the first one is stamped `start` (if given)."""
    data = read_mains(path)
    # Rows without power are not measurements; the counter integrates over the others.
    data = {name: values[np.isfinite(data["mains_p"])] for name, values in data.items()}
    t = data["timestamp"]
    if len(t) == 0:
        return []
    offset = 0.0 if start is None else start - float(t[0])
    e = energy_counter(t, data["mains_p"], start_wh=0.0)
    samples = samples_from_columns(
        t + offset,
        data["mains_p"],
        v=data.get("mains_v"),
        i=data.get("mains_i"),
        e=e,
        pf=data.get("mains_pf"),
    )
    return list(samples)
