"""Step features: the power factor of the step and the local hour."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from custom_components.nilm.engine.detector import Step
from custom_components.nilm.engine.features import describe, hour_of_day, step_power_factor


def test_step_power_factor() -> None:
    assert step_power_factor(1000.0, 0.0) == pytest.approx(1.0)
    assert step_power_factor(-300.0, -400.0) == pytest.approx(0.6)
    assert step_power_factor(100.0, None) is None
    assert step_power_factor(0.0, 0.0) is None


def test_hour_follows_the_time_zone() -> None:
    t = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    assert hour_of_day(t, ZoneInfo("UTC")) == pytest.approx(22 + 13 / 60)
    assert hour_of_day(t, ZoneInfo("Europe/Berlin")) == pytest.approx(23 + 13 / 60)


def test_describe_collects_every_feature() -> None:
    step = Step(
        4, 6, 1_700_000_000.0, 800.0, 600.0, 3.5, 100.0, 900.0, 50.0, 2.0, 100.0, 2.0, 30.0, 1.0
    )
    features = describe(step, ZoneInfo("UTC"))
    assert features["pf"] == pytest.approx(0.8)
    assert features["overshoot_w"] == 50.0
    assert features["transient_s"] == 2.0
    assert features["di"] == 3.5
