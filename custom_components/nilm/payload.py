"""The meter push payload: decode one request body into a checked MeterBatch (docs/CONTRACTS.md)."""

from __future__ import annotations

from dataclasses import dataclass
import json
import re
from typing import Final

from .meter import MeterInfo, MeterReading, PayloadError, parse_reading

MAX_BODY_BYTES: Final = 65536
MAX_SAMPLES: Final = 600
MAX_FW_CHARS: Final = 32
_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class PayloadTooLargeError(PayloadError):
    """A body or batch beyond the documented limits (answered 413)."""


@dataclass(frozen=True, slots=True)
class MeterBatch:
    """One pushed batch: who sent it, its place in the meter's sequence, and its valid readings."""

    info: MeterInfo
    boot_id: str
    seq: int
    readings: list[MeterReading]
    dropped: int

    @property
    def key(self) -> tuple[str, str, int]:
        """What identifies a batch across retries."""
        return (self.info.device_id, self.boot_id, self.seq)

    @property
    def size(self) -> int:
        """Number of samples the meter sent in this batch."""
        return len(self.readings) + self.dropped


def decode_json(body: bytes) -> object:
    """Decode a UTF-8 JSON body; NaN and Infinity literals become floats the reading check drops.

    The body is already bounded by MAX_BODY_BYTES, which bounds the work; deep nesting is safe because the
    decoder guards its recursion and the payload walk below never descends into unknown values.
    """
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise PayloadError("invalid_json", f"body is not UTF-8: {err.reason}") from None
    except json.JSONDecodeError as err:
        raise PayloadError(
            "invalid_json", f"malformed JSON at line {err.lineno} column {err.colno}: {err.msg}"
        ) from None
    except (ValueError, RecursionError) as err:
        # Integers beyond the interpreter's digit limit, nesting beyond its stack guard.
        raise PayloadError("invalid_json", f"unacceptable JSON: {err}") from None


def _identifier(payload: dict[str, object], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise PayloadError(
            "invalid_field", f"{name}: required, 1..64 characters of A-Z a-z 0-9 _ . -"
        )
    return value


def _seq(payload: dict[str, object]) -> int:
    value = payload.get("seq")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError("invalid_field", "seq: required, an integer >= 0")
    return value


def _fw(payload: dict[str, object]) -> str | None:
    value = payload.get("fw")
    if value is not None and (not isinstance(value, str) or len(value) > MAX_FW_CHARS):
        raise PayloadError(
            "invalid_field", f"fw: optional, a string of at most {MAX_FW_CHARS} characters"
        )
    return value


def parse_batch(body: bytes, now: float) -> MeterBatch:
    """Check a request body against the payload contract and validate its samples.

    Args:
        body: the request body, at most MAX_BODY_BYTES long.
        now: the receiver's clock (Unix epoch seconds) that sample timestamps are judged against.

    Raises:
        PayloadTooLargeError: more than MAX_SAMPLES samples.
        PayloadError: anything else that does not follow the contract; the message names the field.
    """
    payload = decode_json(body)
    if not isinstance(payload, dict):
        raise PayloadError("invalid_type", "body: expected a JSON object")
    info = MeterInfo(device_id=_identifier(payload, "device_id"), fw=_fw(payload))
    boot_id = _identifier(payload, "boot_id")
    seq = _seq(payload)
    samples = payload.get("samples")
    if not isinstance(samples, list):
        raise PayloadError("invalid_field", "samples: required, an array of sample objects")
    if len(samples) > MAX_SAMPLES:
        raise PayloadTooLargeError(
            "too_many_samples", f"samples: {len(samples)} samples, at most {MAX_SAMPLES} per batch"
        )
    readings: list[MeterReading] = []
    for index, raw in enumerate(samples):
        reading = parse_reading(raw, f"samples[{index}]", now)
        if reading is not None:
            readings.append(reading)
    return MeterBatch(
        info=info,
        boot_id=boot_id,
        seq=seq,
        readings=readings,
        dropped=len(samples) - len(readings),
    )
