"""Energy, cost and the bill projection: integrates piecewise-constant power over irregular samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

J_PER_KWH = 3.6e6


def billing_period(t: float, billing_day: int, zone: ZoneInfo) -> tuple[float, float]:
    """Start and end (Unix seconds) of the billing period containing t; billing days past 28 act as 28."""
    day = min(max(1, billing_day), 28)
    local = datetime.fromtimestamp(t, zone)
    year, month = local.year, local.month
    if local.day < day:
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    start = datetime(year, month, day, tzinfo=zone)
    end_year, end_month = (year + 1, 1) if month == 12 else (year, month + 1)
    end = datetime(end_year, end_month, day, tzinfo=zone)
    return start.timestamp(), end.timestamp()


@dataclass(slots=True)
class Ledger:
    """Energy totals (monotone) and the billing period's costs."""

    energy_kwh: dict[str, float] = field(default_factory=dict)
    period_cost: dict[str, float] = field(default_factory=dict)
    unidentified_kwh: float = 0.0
    mains_kwh: float = 0.0
    mains_period_cost: float = 0.0
    period_start: float | None = None
    period_end: float | None = None

    def roll(self, t: float, billing_day: int, zone: ZoneInfo) -> None:
        """Start a new billing period when t has left the current one."""
        if (
            self.period_end is not None
            and self.period_start is not None
            and self.period_start <= t < self.period_end
        ):
            return
        self.period_start, self.period_end = billing_period(t, billing_day, zone)
        self.period_cost = dict.fromkeys(self.period_cost, 0.0)
        self.mains_period_cost = 0.0

    def add(self, key: str, joules: float, price: float) -> None:
        """Add one appliance's energy; negative amounts (noise) are ignored so totals never decrease."""
        if joules <= 0.0:
            return
        kwh = joules / J_PER_KWH
        self.energy_kwh[key] = self.energy_kwh.get(key, 0.0) + kwh
        self.period_cost[key] = self.period_cost.get(key, 0.0) + kwh * price

    def add_mains(self, joules: float, unidentified_joules: float, price: float) -> None:
        """Add the whole house's energy and the part no appliance explains."""
        if joules > 0.0:
            self.mains_kwh += joules / J_PER_KWH
            self.mains_period_cost += joules / J_PER_KWH * price
        if unidentified_joules > 0.0:
            self.unidentified_kwh += unidentified_joules / J_PER_KWH

    def forget(self, key: str) -> None:
        """Drop an appliance's counters (deleted)."""
        self.energy_kwh.pop(key, None)
        self.period_cost.pop(key, None)

    def merge(self, source: str, target: str) -> None:
        """Move an appliance's counters onto another (merged)."""
        self.energy_kwh[target] = self.energy_kwh.get(target, 0.0) + self.energy_kwh.pop(
            source, 0.0
        )
        self.period_cost[target] = self.period_cost.get(target, 0.0) + self.period_cost.pop(
            source, 0.0
        )

    def projected_bill(self, now: float | None) -> float:
        """The whole house's cost for this period, extrapolated from the part elapsed."""
        if now is None or self.period_start is None or self.period_end is None:
            return 0.0
        elapsed = now - self.period_start
        length = self.period_end - self.period_start
        if elapsed < 3600.0:
            return self.mains_period_cost
        return self.mains_period_cost * length / elapsed
