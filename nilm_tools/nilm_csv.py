"""NILM-CSV (the evaluation contract's file format): one reader for the evaluator and the replay simulator."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

type FloatArray = NDArray[np.float64]

MAINS_COLUMNS = ("mains_p", "mains_q", "mains_i", "mains_v", "mains_pf")
# Cells that mean a missing reading.
_MISSING = frozenset({"", "nan", "NaN"})
# Rows parsed into one array at a time (Python floats take four times an array's memory).
CHUNK_ROWS = 65_536


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

    `need_truth=False` accepts a recording of the mains alone (a replay needs no ground truth). Rows are
    parsed in chunks into arrays, so a recording of years (tens of millions of rows) fits in memory.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            header, data = _parse(path, handle)
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {path}: {err}") from err
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


def _parse(path: Path, lines: Iterable[str]) -> tuple[list[str], FloatArray]:
    """The header and the rows as one array; line numbers in errors are the file's."""
    header: list[str] | None = None
    chunks: list[FloatArray] = []
    rows: list[list[float]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.rstrip("\r\n").split(",")
        if header is None:
            header = [h.strip() for h in cells]
            if "timestamp" not in header or "mains_p" not in header:
                raise DataError(f"{path}: the header needs 'timestamp' and 'mains_p' columns")
            if len(set(header)) != len(header):
                raise DataError(f"{path}: duplicate column names in the header")
            continue
        if len(cells) != len(header):
            raise DataError(
                f"{path}: line {number} has {len(cells)} cells, the header has {len(header)}"
            )
        try:
            rows.append([float(c) if c.strip() not in _MISSING else np.nan for c in cells])
        except ValueError as err:
            raise DataError(f"{path}: line {number}: {err}") from err
        if len(rows) == CHUNK_ROWS:
            chunks.append(np.array(rows, dtype=np.float64))
            rows = []
    if header is None or not (chunks or rows):
        raise DataError(f"{path}: no header and data rows")
    if rows:
        chunks.append(np.array(rows, dtype=np.float64))
    return header, np.concatenate(chunks)
