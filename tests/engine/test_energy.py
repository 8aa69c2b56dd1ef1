"""Energy, cost and the bill projection."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from custom_components.nilm.engine.energy import J_PER_KWH, Ledger, billing_period

BERLIN = ZoneInfo("Europe/Berlin")


def test_billing_period_respects_day_and_zone() -> None:
    t = datetime(2026, 3, 14, 12, 0, tzinfo=BERLIN).timestamp()
    start, end = billing_period(t, 15, BERLIN)
    assert datetime.fromtimestamp(start, BERLIN) == datetime(2026, 2, 15, tzinfo=BERLIN)
    assert datetime.fromtimestamp(end, BERLIN) == datetime(2026, 3, 15, tzinfo=BERLIN)
    # Local midnight, not UTC midnight, starts the period.
    just_after = datetime(2026, 3, 15, 0, 30, tzinfo=BERLIN).timestamp()
    assert billing_period(just_after, 15, BERLIN)[0] == end


def test_billing_day_is_clamped_and_december_rolls_over() -> None:
    t = datetime(2026, 12, 30, tzinfo=BERLIN).timestamp()
    start, end = billing_period(t, 31, BERLIN)
    assert datetime.fromtimestamp(start, BERLIN) == datetime(2026, 12, 28, tzinfo=BERLIN)
    assert datetime.fromtimestamp(end, BERLIN) == datetime(2027, 1, 28, tzinfo=BERLIN)
    start, _ = billing_period(datetime(2027, 1, 2, tzinfo=BERLIN).timestamp(), 1, BERLIN)
    assert datetime.fromtimestamp(start, BERLIN) == datetime(2027, 1, 1, tzinfo=BERLIN)


def test_ledger_is_monotone_and_costs_at_the_price() -> None:
    ledger = Ledger()
    ledger.add("k", J_PER_KWH, 0.30)
    ledger.add("k", -J_PER_KWH, 0.30)
    ledger.add_mains(2 * J_PER_KWH, -1.0, 0.30)
    assert ledger.energy_kwh["k"] == 1.0
    assert ledger.period_cost["k"] == pytest.approx(0.30)
    assert ledger.mains_kwh == 2.0
    assert ledger.unidentified_kwh == 0.0


def test_period_roll_resets_costs_not_energy() -> None:
    ledger = Ledger()
    t0 = datetime(2026, 1, 10, tzinfo=BERLIN).timestamp()
    ledger.roll(t0, 1, BERLIN)
    ledger.add("k", J_PER_KWH, 1.0)
    ledger.add_mains(J_PER_KWH, 0.0, 1.0)
    ledger.roll(t0 + 3600.0, 1, BERLIN)
    assert ledger.period_cost["k"] == 1.0
    ledger.roll(datetime(2026, 2, 3, tzinfo=BERLIN).timestamp(), 1, BERLIN)
    assert ledger.period_cost["k"] == 0.0
    assert ledger.mains_period_cost == 0.0
    assert ledger.energy_kwh["k"] == 1.0


def test_bill_projection_extrapolates_the_month_so_far() -> None:
    ledger = Ledger()
    start = datetime(2026, 4, 1, tzinfo=BERLIN).timestamp()
    assert ledger.projected_bill(start) == 0.0
    ledger.roll(start, 1, BERLIN)
    ledger.add_mains(10 * J_PER_KWH, 0.0, 0.5)
    assert ledger.projected_bill(start + 60.0) == 5.0  # too early to extrapolate
    # Ten days of a thirty-day April cost 5: the month projects to 15.
    assert ledger.projected_bill(start + 10 * 86400.0) == pytest.approx(15.0)


def test_merge_and_forget_move_counters() -> None:
    ledger = Ledger()
    ledger.add("a", J_PER_KWH, 1.0)
    ledger.add("b", 2 * J_PER_KWH, 1.0)
    ledger.merge("a", "b")
    assert ledger.energy_kwh == {"b": 3.0}
    assert ledger.period_cost == {"b": 3.0}
    ledger.forget("b")
    assert ledger.energy_kwh == {}
