"""Tests of the config, reconfigure and options flows."""

from __future__ import annotations

from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_NAME, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.network import NoURLAvailableError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nilm.const import (
    CONF_ALLOW_EXTERNAL,
    CONF_BILLING_DAY,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_CONTEXT_ENTITIES,
    CONF_EVENT_THRESHOLD,
    CONF_MAX_PENDING_EVENTS,
    CONF_POWER_ENTITY,
    CONF_PRICE_ENTITY,
    CONF_PRICE_PER_KWH,
    CONF_ROTATE_API_KEY,
    CONF_SOURCE,
    CONF_VOLTAGE_ENTITY,
    DOMAIN,
    SOURCE_METER,
    SOURCE_SENSOR,
)

POWER_ENTITY = "sensor.house_power"

pytestmark = pytest.mark.usefixtures("mock_setup_entry")

VOLTAGE_ENTITY = "sensor.mains_voltage"
OPTIONS = {
    CONF_EVENT_THRESHOLD: 40.0,
    CONF_CONFIDENCE_THRESHOLD: 0.7,
    CONF_PRICE_PER_KWH: 0.3,
    CONF_BILLING_DAY: 15.0,
    CONF_MAX_PENDING_EVENTS: 200.0,
}


@pytest.fixture(autouse=True)
async def internal_url(hass: HomeAssistant) -> None:
    """Give Home Assistant an address so that webhook URLs are complete."""
    await async_process_ha_core_config(hass, {"internal_url": "http://192.168.1.2:8123"})


async def _start_sensor_flow(hass: HomeAssistant) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [SOURCE_SENSOR, SOURCE_METER]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": SOURCE_SENSOR}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == SOURCE_SENSOR
    return result["flow_id"]


@pytest.mark.usefixtures("power_sensor")
async def test_sensor_source(hass: HomeAssistant, mock_setup_entry: AsyncMock) -> None:
    """A numeric power sensor in kW with a voltage sensor creates the entry."""
    hass.states.async_set(
        POWER_ENTITY, "0.25", {"unit_of_measurement": "kW", "friendly_name": "House"}
    )
    hass.states.async_set(VOLTAGE_ENTITY, "231.2", {"unit_of_measurement": "V"})
    flow_id = await _start_sensor_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_POWER_ENTITY: POWER_ENTITY, CONF_VOLTAGE_ENTITY: VOLTAGE_ENTITY}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "House"
    assert result["data"] == {
        CONF_SOURCE: SOURCE_SENSOR,
        CONF_POWER_ENTITY: POWER_ENTITY,
        CONF_VOLTAGE_ENTITY: VOLTAGE_ENTITY,
    }
    assert result["result"].unique_id == POWER_ENTITY
    assert len(mock_setup_entry.mock_calls) == 1


@pytest.mark.parametrize(
    ("power_state", "voltage_state", "errors"),
    [
        (None, ("230", "V"), {CONF_POWER_ENTITY: "entity_not_found"}),
        (("unavailable", "W"), ("230", "V"), {CONF_POWER_ENTITY: "not_numeric"}),
        (("250", "kWh"), ("230", "V"), {CONF_POWER_ENTITY: "unsupported_unit"}),
        (("250", "W"), ("nan", "V"), {CONF_VOLTAGE_ENTITY: "not_numeric"}),
        (("250", "W"), ("230", "kV"), {CONF_VOLTAGE_ENTITY: "unsupported_unit"}),
    ],
)
async def test_sensor_source_errors_then_recovery(
    hass: HomeAssistant,
    power_state: tuple[str, str] | None,
    voltage_state: tuple[str, str],
    errors: dict[str, str],
) -> None:
    """Each invalid sensor is named on its field; fixing it completes the flow."""
    if power_state is not None:
        hass.states.async_set(POWER_ENTITY, power_state[0], {"unit_of_measurement": power_state[1]})
    hass.states.async_set(
        VOLTAGE_ENTITY, voltage_state[0], {"unit_of_measurement": voltage_state[1]}
    )
    flow_id = await _start_sensor_flow(hass)
    user_input = {CONF_POWER_ENTITY: POWER_ENTITY, CONF_VOLTAGE_ENTITY: VOLTAGE_ENTITY}

    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors

    hass.states.async_set(POWER_ENTITY, "250", {"unit_of_measurement": "W"})
    hass.states.async_set(VOLTAGE_ENTITY, "230", {"unit_of_measurement": "V"})
    result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("power_sensor")
async def test_sensor_source_already_configured(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """The same power sensor cannot be added twice."""
    mock_config_entry.add_to_hass(hass)
    flow_id = await _start_sensor_flow(hass)

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_POWER_ENTITY: POWER_ENTITY}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def _start_meter_flow(hass: HomeAssistant, name: str) -> dict[str, object]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": SOURCE_METER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == SOURCE_METER
    return dict(
        await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_NAME: name})
    )


async def test_meter_source(hass: HomeAssistant) -> None:
    """A meter gets a webhook id and key, shown with the URL before the entry is created."""
    result = await _start_meter_flow(hass, " Garage meter ")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "meter_settings"
    placeholders = result["description_placeholders"]
    assert isinstance(placeholders, dict)
    assert placeholders["url"].startswith("http://192.168.1.2:8123/api/webhook/")

    result = dict(await hass.config_entries.flow.async_configure(str(result["flow_id"]), {}))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Garage meter"
    data = result["data"]
    assert isinstance(data, dict)
    assert data[CONF_SOURCE] == SOURCE_METER
    assert placeholders == {
        "url": f"http://192.168.1.2:8123/api/webhook/{data[CONF_WEBHOOK_ID]}",
        "api_key": data[CONF_API_KEY],
    }
    assert len(data[CONF_WEBHOOK_ID]) == 64
    assert len(data[CONF_API_KEY]) >= 43
    assert result["result"].unique_id == "meter_garage_meter"  # type: ignore[union-attr]


async def test_meter_source_without_url(hass: HomeAssistant) -> None:
    """Without a configured address the user gets the webhook path to complete."""
    with patch("homeassistant.components.webhook.get_url", side_effect=NoURLAvailableError):
        result = await _start_meter_flow(hass, "Meter")

    placeholders = result["description_placeholders"]
    assert isinstance(placeholders, dict)
    assert placeholders["url"].startswith("/api/webhook/")


async def test_meter_source_already_configured(hass: HomeAssistant) -> None:
    """Two meters cannot share a name."""
    MockConfigEntry(domain=DOMAIN, unique_id="meter_energy_meter", data={}).add_to_hass(hass)

    result = await _start_meter_flow(hass, "Energy meter")

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.usefixtures("power_sensor")
async def test_reconfigure_sensor(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """The power sensor can be replaced; errors first, then success."""
    mock_config_entry.add_to_hass(hass)
    result = await mock_config_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_sensor"}
    )
    assert result["step_id"] == "reconfigure_sensor"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: "sensor.other_power"}
    )
    assert result["errors"] == {CONF_POWER_ENTITY: "entity_not_found"}

    hass.states.async_set("sensor.other_power", "1.5", {"unit_of_measurement": "kW"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: "sensor.other_power"}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.unique_id == "sensor.other_power"
    assert mock_config_entry.data == {
        CONF_SOURCE: SOURCE_SENSOR,
        CONF_POWER_ENTITY: "sensor.other_power",
    }


@pytest.mark.usefixtures("power_sensor")
async def test_reconfigure_sensor_same_entity(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Keeping the power sensor and adding a voltage sensor is not a duplicate."""
    mock_config_entry.add_to_hass(hass)
    hass.states.async_set(VOLTAGE_ENTITY, "230", {"unit_of_measurement": "V"})
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_sensor"}
    )

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: POWER_ENTITY, CONF_VOLTAGE_ENTITY: VOLTAGE_ENTITY}
    )

    assert result["reason"] == "reconfigure_successful"
    assert mock_config_entry.data[CONF_VOLTAGE_ENTITY] == VOLTAGE_ENTITY
    await _reloaded_then_unloaded(hass, mock_config_entry)


@pytest.mark.usefixtures("power_sensor")
async def test_reconfigure_sensor_taken(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Another entry's sensor cannot be taken over."""
    mock_config_entry.add_to_hass(hass)
    MockConfigEntry(domain=DOMAIN, unique_id="sensor.other_power", data={}).add_to_hass(hass)
    hass.states.async_set("sensor.other_power", "100", {"unit_of_measurement": "W"})
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_sensor"}
    )

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_POWER_ENTITY: "sensor.other_power"}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_to_meter_and_rename(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """A sensor entry becomes a meter with new credentials; renaming the meter keeps them."""
    mock_config_entry.add_to_hass(hass)

    async def reconfigure(name: str) -> None:
        result = await mock_config_entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "reconfigure_meter"}
        )
        assert result["step_id"] == "reconfigure_meter"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_NAME: name}
        )
        assert result["reason"] == "reconfigure_successful"

    await reconfigure("Cellar meter")
    data = dict(mock_config_entry.data)
    assert data[CONF_SOURCE] == SOURCE_METER
    assert {CONF_WEBHOOK_ID, CONF_API_KEY} <= data.keys()
    assert mock_config_entry.unique_id == "meter_cellar_meter"
    assert mock_config_entry.title == "Cellar meter"

    await reconfigure("Basement meter")
    assert mock_config_entry.data == data
    assert mock_config_entry.title == "Basement meter"
    await _reloaded_then_unloaded(hass, mock_config_entry)


@pytest.mark.usefixtures("power_sensor")
async def test_options_sensor_source(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """Options are stored with integers where counts and days are meant."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(mock_config_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert CONF_ALLOW_EXTERNAL not in result["data_schema"].schema

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            **OPTIONS,
            CONF_PRICE_ENTITY: "sensor.price",
            CONF_CONTEXT_ENTITIES: ["sensor.outdoor_temperature"],
        },
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert mock_config_entry.options == {
        **OPTIONS,
        CONF_BILLING_DAY: 15,
        CONF_MAX_PENDING_EVENTS: 200,
        CONF_PRICE_ENTITY: "sensor.price",
        CONF_CONTEXT_ENTITIES: ["sensor.outdoor_temperature"],
    }
    await _reloaded_then_unloaded(hass, mock_config_entry)


@pytest.mark.parametrize("rotate", [False, True])
async def test_options_meter_source(hass: HomeAssistant, rotate: bool) -> None:
    """A meter entry shows its URL and key; rotating replaces the key."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="meter_energy_meter",
        data={CONF_SOURCE: SOURCE_METER, CONF_WEBHOOK_ID: "a" * 64, CONF_API_KEY: "old-key"},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "meter"
    assert result["description_placeholders"] == {
        "url": f"http://192.168.1.2:8123/api/webhook/{'a' * 64}",
        "api_key": "old-key",
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS, CONF_ALLOW_EXTERNAL: True, CONF_ROTATE_API_KEY: rotate}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_ALLOW_EXTERNAL] is True
    assert CONF_ROTATE_API_KEY not in entry.options
    assert (entry.data[CONF_API_KEY] != "old-key") is rotate
    await _reloaded_then_unloaded(hass, entry)


async def _reloaded_then_unloaded(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Let the reload that saving started finish, then unload the entry.

    Saving options or a reconfiguration reloads the entry, which sets it up in the background; otherwise
    its timers can outlive the test (a teardown error seen on a busy machine).
    """
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
