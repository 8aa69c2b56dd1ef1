"""Fixtures of the firmware checks: they run compilers and ESPHome, never Home Assistant."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture: no `hass` instance is needed to check the firmware."""
