"""One reading of the push meter (ESP32 + PZEM-004T): its fields, ranges and validation.

The webhook turns every sample of a pushed batch into a MeterReading here. A sample with a wrong JSON type is a
malformed request (the caller answers 400); a sample that is well-formed but impossible (NaN, infinite, out of the
PZEM-004T v3's range, a timestamp too far in the future or the past) is dropped and counted, and the rest of the
batch is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math
from typing import Final

from .engine import Sample

# Ranges of the PZEM-004T v3 (100 A model, datasheet); a value outside cannot come from a working meter.
RANGES: Final[dict[str, tuple[float, float]]] = {
    "v": (80.0, 260.0),
    "i": (0.0, 100.0),
    "p": (0.0, 23000.0),
    "f": (45.0, 65.0),
    "pf": (0.0, 1.0),
    "e": (0.0, math.inf),
}
# The meter's clock comes from SNTP: more ahead than this is a wrong clock, older is a stale buffer.
MAX_FUTURE_S: Final = 300.0
MAX_AGE_S: Final = 7 * 24 * 3600.0
OPTIONAL_FIELDS: Final = ("v", "i", "e", "f", "pf")


class PayloadError(ValueError):
    """A request body that does not follow the meter push payload; the message names the field."""

    def __init__(self, code: str, message: str) -> None:
        """Keep a machine code (the error of the JSON answer) beside the readable message."""
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class MeterInfo:
    """The meter that pushed a batch."""

    device_id: str
    fw: str | None


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One validated meter sample: t in Unix epoch seconds, p W, v V, i A, e Wh (meter counter), f Hz, pf 0..1."""

    t: float
    p: float
    v: float | None = None
    i: float | None = None
    e: float | None = None
    f: float | None = None
    pf: float | None = None

    @property
    def reactive_power(self) -> float | None:
        """|Q| in var from S = V*I and P; the PZEM's power factor is unsigned, so the sign is unknown."""
        if self.v is None or self.i is None:
            return None
        apparent = self.v * self.i
        return math.sqrt(max(0.0, apparent * apparent - self.p * self.p))

    def to_sample(self) -> Sample:
        """Return the engine's Sample for this reading."""
        return Sample(self.t, self.p, q=self.reactive_power, i=self.i, v=self.v, pf=self.pf)


def _number(raw: Mapping[str, object], name: str, where: str) -> float | None:
    """Return the field as float, None when absent or null; raise PayloadError for a non-number."""
    value = raw.get(name)
    if value is None:
        return None
    # bool is an int in Python but never a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(
            "invalid_type", f"{where}.{name}: expected a number, got {_json_type(value)}"
        )
    try:
        return float(value)
    except OverflowError:
        # An integer literal beyond float range: impossible, dropped like infinity.
        return math.inf


# The types a JSON decoder makes, by the names JSON gives them.
_JSON_TYPES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _json_type(value: object) -> str:
    """Name a decoded JSON value's type the way the payload documentation does."""
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _plausible(name: str, value: float) -> bool:
    """Whether a finite value lies in the meter's range for that field."""
    low, high = RANGES[name]
    return math.isfinite(value) and low <= value <= high


def parse_reading(raw: object, where: str, now: float) -> MeterReading | None:
    """Validate one pushed sample; return None when it is well-formed but impossible.

    Args:
        raw: the decoded JSON sample.
        where: its place in the payload for error messages, e.g. "samples[3]".
        now: the receiver's clock, Unix epoch seconds, to judge the timestamp.

    Raises:
        PayloadError: the sample is not an object, lacks "t" or "p", or a field is not a number.
    """
    if not isinstance(raw, dict):
        raise PayloadError("invalid_type", f"{where}: expected an object, got {_json_type(raw)}")
    for required in ("t", "p"):
        if required not in raw:
            raise PayloadError("missing_field", f"{where}.{required}: required")
    # Null t or p is how a meter without JSON NaN reports a failed read: a reading to drop.
    t = _number(raw, "t", where)
    p = _number(raw, "p", where)
    v, i, e, f, pf = (_number(raw, name, where) for name in OPTIONAL_FIELDS)
    if t is None or p is None or not math.isfinite(t):
        return None
    if not now - MAX_AGE_S <= t <= now + MAX_FUTURE_S or not _plausible("p", p):
        return None
    optional = zip(OPTIONAL_FIELDS, (v, i, e, f, pf), strict=True)
    if any(value is not None and not _plausible(name, value) for name, value in optional):
        return None
    return MeterReading(t=t, p=p, v=v, i=i, e=e, f=f, pf=pf)
