"""Diagnostics: a snapshot, with the meter's credentials redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.nilm.const import CONF_SOURCE, DOMAIN, SOURCE_METER
from custom_components.nilm.meter import MeterInfo, MeterReading


@pytest.mark.freeze_time("2026-11-20 12:00:00+00:00")
async def test_diagnostics_sensor_source(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    feed: Any,
    snapshot: SnapshotAssertion,
) -> None:
    """The entry, the source status and the engine's snapshot."""
    await hass.services.async_call(
        DOMAIN, "create_appliance", {"name": "Kettle"}, blocking=True, return_response=True
    )
    await feed([150.0] * 20 + [2150.0] * 20)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    assert diagnostics == snapshot


@pytest.mark.freeze_time("2026-11-20 12:00:00+00:00")
async def test_diagnostics_meter_redacted(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, setup_entry: Any
) -> None:
    """The webhook id and the API key never appear."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Energy meter",
        unique_id="meter_energy_meter",
        data={CONF_SOURCE: SOURCE_METER, CONF_WEBHOOK_ID: "0f" * 32, CONF_API_KEY: "top-secret"},
    )
    await setup_entry(entry)
    entry.runtime_data.async_on_readings(
        MeterInfo("nilm-meter-a1b2c3", "1.0.0"),
        [MeterReading(t=dt_util.utcnow().timestamp(), p=250.0, v=230.0, i=1.2)],
    )

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    text = str(diagnostics)
    assert "top-secret" not in text
    assert "0f" * 32 not in text
    assert diagnostics["entry"]["data"][CONF_API_KEY] == "**REDACTED**"
    assert diagnostics["source"]["meter"]["info"] == {
        "device_id": "nilm-meter-a1b2c3",
        "fw": "1.0.0",
    }
