"""NILM-CSV (the evaluation contract's file format): one reader for the evaluator and the replay simulator."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

type FloatArray = NDArray[np.float64]
type PowerArray = NDArray[np.float32]

MAINS_COLUMNS = ("mains_p", "mains_q", "mains_i", "mains_v", "mains_pf")
# Cells that mean a missing reading.
_MISSING = frozenset({"", "nan", "NaN"})
# Rows parsed into arrays at a time (Python floats take four times an array's memory).
CHUNK_ROWS = 65_536


class DataError(Exception):
    """A malformed NILM-CSV file."""


@dataclass(frozen=True, slots=True)
class Dataset:
    """A NILM-CSV file: time, mains columns, and ground truth per appliance.

    Ground truth is kept in single precision (watts to seven digits): a house with fifty sub-meters over
    years of 6 s readings is tens of millions of rows per column.
    """

    t: FloatArray
    mains: dict[str, FloatArray]
    appliances: dict[str, PowerArray]


def read_nilm_csv(path: Path, *, need_truth: bool = True) -> Dataset:
    """Read and check a NILM-CSV file; raises DataError with a one-line reason.

    `need_truth=False` accepts a recording of the mains alone (a replay needs no ground truth). Rows are
    parsed in chunks into one array per column, so a recording of years (tens of millions of rows) fits
    in memory.
    """
    try:
        with path.open(encoding="utf-8-sig") as handle:
            columns = _parse(path, handle)
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read {path}: {err}") from err
    # The parser made them so; the casts copy nothing and give the types their names.
    t = columns.pop("timestamp").astype(np.float64, copy=False)
    if not np.isfinite(t).all():
        raise DataError(f"{path}: a timestamp is missing or not a number")
    if (np.diff(t) < 0).any():
        raise DataError(f"{path}: rows are not sorted by timestamp")
    mains = {
        name: columns.pop(name).astype(np.float64, copy=False)
        for name in MAINS_COLUMNS
        if name in columns
    }
    if need_truth and not columns:
        raise DataError(f"{path}: no appliance (ground-truth) column")
    truth = {name: column.astype(np.float32, copy=False) for name, column in columns.items()}
    return Dataset(t=t, mains=mains, appliances=truth)


def _parse(path: Path, lines: Iterable[str]) -> dict[str, NDArray[np.floating]]:
    """Every column by name: time and mains in double, ground truth in single precision."""
    header: list[str] | None = None
    parts: list[list[NDArray[np.floating]]] = []
    dtypes: list[type[np.floating]] = []
    batch: list[tuple[int, str]] = []

    def flush() -> None:
        block = _rows(path, header or [], batch)
        for k, column in enumerate(block.T):
            parts[k].append(column.astype(dtypes[k]))
        batch.clear()

    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if header is None:
            header = [h.strip() for h in line.rstrip("\r\n").split(",")]
            if "timestamp" not in header or "mains_p" not in header:
                raise DataError(f"{path}: the header needs 'timestamp' and 'mains_p' columns")
            if len(set(header)) != len(header):
                raise DataError(f"{path}: duplicate column names in the header")
            parts = [[] for _ in header]
            dtypes = [
                np.float64 if name == "timestamp" or name in MAINS_COLUMNS else np.float32
                for name in header
            ]
            continue
        batch.append((number, line.rstrip("\r\n")))
        if len(batch) == CHUNK_ROWS:
            flush()
    if header is None or not (batch or parts[0]):
        raise DataError(f"{path}: no header and data rows")
    if batch:
        flush()
    columns: dict[str, NDArray[np.floating]] = {}
    for k, name in enumerate(header):
        # One column at a time, its chunks freed as it is joined: the file is never held twice.
        columns[name] = np.concatenate(parts[k])
        parts[k] = []
    return columns


def _rows(path: Path, header: list[str], batch: list[tuple[int, str]]) -> FloatArray:
    """A chunk of data lines as a rows x columns array.

    numpy's own parser takes a clean chunk (five times faster than Python's); a chunk it refuses (an empty
    cell, a bad value, a short line) is parsed line by line, which reads empty cells as missing and names
    the file's line of an error.
    """
    try:
        block = np.loadtxt(
            [line for _, line in batch], delimiter=",", comments=None, ndmin=2, dtype=np.float64
        )
        if block.shape == (len(batch), len(header)):
            return block
    except ValueError:
        pass
    rows: list[list[float]] = []
    for number, line in batch:
        cells = line.split(",")
        if len(cells) != len(header):
            raise DataError(
                f"{path}: line {number} has {len(cells)} cells, the header has {len(header)}"
            )
        try:
            rows.append([float(c) if c.strip() not in _MISSING else np.nan for c in cells])
        except ValueError as err:
            raise DataError(f"{path}: line {number}: {err}") from err
    return np.array(rows, dtype=np.float64)
