"""What the simulated meter measures each second, rounded to the PZEM-004T's resolution."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from custom_components.nilm.meter import MeterReading

type FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class MeterSample(MeterReading):
    """One sample of the push payload: a meter reading as the firmware sends it."""

    def to_json(self) -> dict[str, float]:
        """The sample as the firmware sends it: absent values are left out."""
        fields = {"t": self.t, "p": self.p, "v": self.v, "i": self.i}
        fields |= {"e": self.e, "f": self.f, "pf": self.pf}
        return {name: value for name, value in fields.items() if value is not None}

    def shifted(self, offset_s: float) -> MeterSample:
        """The same measurement stamped `offset_s` later (replaying old data as if live)."""
        return replace(self, t=self.t + offset_s)


def energy_counter(t: FloatArray, p: FloatArray, start_wh: float) -> FloatArray:
    """The meter's energy counter in whole Wh: trapezoidal integral of P, gaps over 300 s not bridged."""
    dt = np.diff(t, prepend=t[:1])
    dt[dt > 300.0] = 0.0
    mean_p = (p + np.concatenate((p[:1], p[:-1]))) / 2.0
    return np.floor(start_wh + np.cumsum(mean_p * dt) / 3600.0)


def _column(values: FloatArray | None, index: int, decimals: int) -> float | None:
    if values is None:
        return None
    value = float(values[index])
    return round(value, decimals) if np.isfinite(value) else None


def samples_from_columns(
    t: FloatArray,
    p: FloatArray,
    *,
    v: FloatArray | None = None,
    i: FloatArray | None = None,
    e: FloatArray | None = None,
    f: FloatArray | None = None,
    pf: FloatArray | None = None,
) -> Iterator[MeterSample]:
    """MeterSamples from aligned columns at the PZEM's resolution; rows without a finite P are skipped."""
    for index in range(len(t)):
        power = float(p[index])
        if not np.isfinite(power):
            continue
        yield MeterSample(
            t=round(float(t[index]), 3),
            p=round(power, 1),
            v=_column(v, index, 1),
            i=_column(i, index, 3),
            e=_column(e, index, 0),
            f=_column(f, index, 1),
            pf=_column(pf, index, 2),
        )
