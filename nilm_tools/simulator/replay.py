"""Replay of a NILM-CSV recording (docs: ../shared evaluation contract) as meter samples.

Only the mains columns are used: the meter does not know the appliances. The energy counter is integrated from P
because NILM-CSV carries none.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nilm_tools.nilm_csv import DataError, read_nilm_csv

from .sample import MeterSample, energy_counter, samples_from_columns


class CsvFormatError(ValueError):
    """The file is not NILM-CSV; the message says where."""


def replay_samples(path: Path, start: float | None = None) -> list[MeterSample]:
    """The recording's mains as meter samples, shifted so the first one is stamped `start` (if given)."""
    try:
        recording = read_nilm_csv(path, need_truth=False)
    except DataError as err:
        raise CsvFormatError(str(err)) from err
    # Rows without power are not measurements; the counter integrates over the others.
    measured = np.isfinite(recording.mains["mains_p"])
    data = {name: values[measured] for name, values in recording.mains.items()}
    t = recording.t[measured]
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
