"""NILM-CSV (the evaluation contract's file format): one reader for the evaluator and the replay simulator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

type FloatArray = NDArray[np.float64]

MAINS_COLUMNS = ("mains_p", "mains_q", "mains_i", "mains_v", "mains_pf")


class DataError(Exception):
    """A malformed NILM-CSV file."""


@dataclass(frozen=True, slots=True)
class Dataset:
    """A NILM-CSV file: time, mains columns, and ground truth per appliance."""

    t: FloatArray
    mains: dict[str, FloatArray]
    appliances: dict[str, FloatArray]


def read_nilm_csv(path: Path, *, need_truth: bool = True) -> Dataset:
    """Read and check a NILM-CSV file; raises DataError with a one-line reason.

    `need_truth=False` accepts a recording of the mains alone (a replay needs no ground truth).
    """
    try:
        lines = [
            ln
            for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")
        ]
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {path}: {err}") from err
    if len(lines) < 2:
        raise DataError(f"{path}: no header and data rows")
    header = [h.strip() for h in lines[0].split(",")]
    if "timestamp" not in header or "mains_p" not in header:
        raise DataError(f"{path}: the header needs 'timestamp' and 'mains_p' columns")
    if len(set(header)) != len(header):
        raise DataError(f"{path}: duplicate column names in the header")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        if len(cells) != len(header):
            raise DataError(
                f"{path}: line {number} has {len(cells)} cells, the header has {len(header)}"
            )
        try:
            rows.append(
                [float(c) if c.strip() not in {"", "nan", "NaN"} else np.nan for c in cells]
            )
        except ValueError as err:
            raise DataError(f"{path}: line {number}: {err}") from err
    data = np.array(rows, dtype=np.float64)
    columns = {name: data[:, k] for k, name in enumerate(header)}
    t = columns.pop("timestamp")
    if not np.isfinite(t).all():
        raise DataError(f"{path}: a timestamp is missing or not a number")
    if (np.diff(t) < 0).any():
        raise DataError(f"{path}: rows are not sorted by timestamp")
    mains = {name: columns.pop(name) for name in MAINS_COLUMNS if name in columns}
    if need_truth and not columns:
        raise DataError(f"{path}: no appliance (ground-truth) column")
    return Dataset(t=t, mains=mains, appliances=columns)
