"""Event features: what the classifier compares, derived from a detected step."""

from __future__ import annotations

from datetime import datetime
import math
from zoneinfo import ZoneInfo

from .detector import Step


def step_power_factor(dp: float, dq: float | None) -> float | None:
    """Power factor of the step itself (|dP| / |dS|): resistive loads near 1, motors lower."""
    if dq is None:
        return None
    apparent = math.hypot(dp, dq)
    return abs(dp) / apparent if apparent > 0 else None


def hour_of_day(t: float, zone: ZoneInfo) -> float:
    """Local time of day in hours, for time-of-day context."""
    local = datetime.fromtimestamp(t, zone)
    return local.hour + local.minute / 60.0


def describe(step: Step, zone: ZoneInfo) -> dict[str, float | None]:
    """The feature set of one step."""
    return {
        "dp": step.dp,
        "dq": step.dq,
        "di": step.di,
        "pf": step_power_factor(step.dp, step.dq),
        "overshoot_w": step.overshoot_w,
        "transient_s": step.transient_s,
        "hour": hour_of_day(step.t, zone),
    }
