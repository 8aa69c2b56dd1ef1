"""Sensors: snapshots, the meter's readings, energy that never decreases and survives restarts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    CONF_API_KEY,
    CONF_WEBHOOK_ID,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.nilm.const import CONF_SOURCE, DOMAIN, SOURCE_METER
from custom_components.nilm.meter import MeterInfo, MeterReading

METER_ENTRY_ID = "01JNILM0METERENTRY00000000"


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the sensor platform."""
    return [Platform.SENSOR]


@pytest.fixture
def meter_entry() -> MockConfigEntry:
    """A meter-source entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Energy meter",
        entry_id=METER_ENTRY_ID,
        unique_id="meter_energy_meter",
        data={CONF_SOURCE: SOURCE_METER, CONF_WEBHOOK_ID: "0f" * 32, CONF_API_KEY: "secret"},
    )


@pytest.mark.freeze_time("2026-11-20 12:00:00+00:00")
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    *,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    feed: Any,
) -> None:
    """Hub sensors and an appliance's power, energy and cost sensors."""
    await hass.services.async_call(
        DOMAIN, "create_appliance", {"name": "Kettle"}, blocking=True, return_response=True
    )
    await feed([150.0] * 10)

    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)
    devices = dr.async_entries_for_config_entry(device_registry, init_integration.entry_id)
    assert sorted(devices, key=lambda d: d.name or "") == snapshot(name="devices")


async def _meter_reading(hass: HomeAssistant, entry: MockConfigEntry, **fields: Any) -> None:
    reading = MeterReading(t=dt_util.utcnow().timestamp(), **fields)
    entry.runtime_data.async_on_readings(MeterInfo("nilm-meter-a1b2c3", "1.0.0"), [reading])
    await hass.async_block_till_done()


@pytest.mark.freeze_time("2026-11-20 12:00:00+00:00")
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_meter_entities(
    hass: HomeAssistant,
    *,
    meter_entry: MockConfigEntry,
    setup_entry: Any,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """A meter entry adds the meter's readings; the firmware goes on the hub device."""
    await setup_entry(meter_entry)
    assert hass.states.get("sensor.energy_meter_voltage").state == STATE_UNAVAILABLE

    await _meter_reading(hass, meter_entry, p=250.0, v=230.0, i=1.2, e=12345.0, f=50.0, pf=0.9)

    await snapshot_platform(hass, entity_registry, snapshot, meter_entry.entry_id)
    hub = device_registry.async_get_device_by_identifier((DOMAIN, METER_ENTRY_ID), METER_ENTRY_ID)
    assert hub is not None
    assert hub.sw_version == "1.0.0"
    assert hub.serial_number == "nilm-meter-a1b2c3"


async def test_meter_partial_reading_and_silence(
    hass: HomeAssistant,
    meter_entry: MockConfigEntry,
    setup_entry: Any,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Missing fields are unknown; a silent meter goes unavailable but its last-seen time stays."""
    await setup_entry(meter_entry)

    await _meter_reading(hass, meter_entry, p=250.0)
    freezer.tick(1)
    await _meter_reading(hass, meter_entry, p=250.0)
    assert hass.states.get("sensor.energy_meter_power").state == "250.0"
    assert hass.states.get("sensor.energy_meter_voltage").state == STATE_UNKNOWN

    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.energy_meter_power").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.energy_meter_last_seen").state != STATE_UNAVAILABLE


async def test_energy_restored_and_never_decreasing(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    power_sensor: str,
    setup_entry: Any,
    hass_storage: dict[str, Any],
) -> None:
    """A restored total above the engine's counter (a lost store) is kept and only grows."""
    hass_storage.clear()
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State("sensor.kettle_energy", "5.0"),
                {"native_value": 5.0, "native_unit_of_measurement": "kWh"},
            )
        ],
    )
    await setup_entry(mock_config_entry)
    entity_registry = er.async_get(hass)

    await hass.services.async_call(
        DOMAIN, "create_appliance", {"name": "Kettle"}, blocking=True, return_response=True
    )
    await hass.async_block_till_done()
    entity_id = entity_registry.async_get_entity_id(
        "sensor",
        DOMAIN,
        next(
            e.unique_id
            for e in er.async_entries_for_config_entry(entity_registry, mock_config_entry.entry_id)
            if e.unique_id.endswith("_energy")
        ),
    )
    assert entity_id == "sensor.kettle_energy"
    assert float(hass.states.get(entity_id).state) == 5.0


async def test_meter_push_over_http(
    hass: HomeAssistant,
    meter_entry: MockConfigEntry,
    setup_entry: Any,
    hass_client_no_auth: Any,
) -> None:
    """A batch POSTed to the entry's webhook reaches the meter's sensors."""
    await setup_entry(meter_entry)
    client = await hass_client_no_auth()
    now = dt_util.utcnow().timestamp()
    payload = {
        "device_id": "nilm-meter-a1b2c3",
        "boot_id": "5f3a9c1e",
        "seq": 0,
        "fw": "1.0.1",
        "samples": [{"t": now - 1 + n, "p": 300.0 + n, "v": 229.5, "e": 2000.0} for n in range(2)],
    }

    response = await client.post(
        f"/api/webhook/{'0f' * 32}", json=payload, headers={"X-NILM-Key": "secret"}
    )
    await hass.async_block_till_done()

    assert (await response.json())["accepted"] == 2
    assert hass.states.get("sensor.energy_meter_power").state == "301.0"
    assert hass.states.get("sensor.energy_meter_energy").state == "2.0"
