"""Coordinator behaviour: the busy engine, prices, context sensors and changes during an outage."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nilm.const import (
    CONF_CONTEXT_ENTITIES,
    CONF_PRICE_ENTITY,
    DOMAIN,
)

STEP = [150.0] * 20 + [2150.0] * 20
CYCLE = [*STEP, *[150.0] * 20]


async def test_samples_wait_while_engine_is_busy(
    hass: HomeAssistant, init_integration: MockConfigEntry, feed: Any
) -> None:
    """Samples that arrive during an executor job are fed, in order, right after it."""
    coordinator = init_integration.runtime_data
    await feed([150.0] * 5)
    job = hass.async_create_task(coordinator.async_run(time.sleep, 0.05))
    await asyncio.sleep(0)  # the job now holds the engine

    await feed([150.0] * 3)
    await job

    assert coordinator.data.t == hass.states.get("sensor.house_power").last_reported.timestamp()


async def test_context_sensors_in_bus_event(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    power_sensor: str,
    setup_entry: Any,
    feed: Any,
    nilm_events: list[Any],
) -> None:
    """The states of the chosen context sensors travel with each event."""
    hass.states.async_set("sensor.outdoor_temperature", "4.5")
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        options={CONF_CONTEXT_ENTITIES: ["sensor.outdoor_temperature", "sensor.missing"]},
    )
    await setup_entry(mock_config_entry)

    await feed(STEP)

    assert nilm_events[0].data["context"] == {"sensor.outdoor_temperature": "4.5"}
    assert nilm_events[0].data["config_entry_id"] == mock_config_entry.entry_id


async def test_price_entity_sets_cost(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    power_sensor: str,
    setup_entry: Any,
    feed: Any,
) -> None:
    """Cost accrues at the price sensor's value; an unavailable price keeps the last one."""
    hass.states.async_set("sensor.price", "unavailable")
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_PRICE_ENTITY: "sensor.price"}
    )
    await setup_entry(mock_config_entry)
    await feed(CYCLE)
    for event in (
        await hass.services.async_call(
            DOMAIN, "list_events", {}, blocking=True, return_response=True
        )
    )["events"]:
        await hass.services.async_call(
            DOMAIN,
            "label_event",
            {"event_id": event["event_id"], "appliance": "Heater"},
            blocking=True,
        )
    hass.states.async_set("sensor.price", "0.5")
    await hass.async_block_till_done()
    hass.states.async_set("sensor.price", "unknown")

    await feed([150.0] * 20 + [2150.0] * 1800 + [150.0] * 20)

    energy = float(hass.states.get("sensor.heater_energy").state)
    cost = float(hass.states.get("sensor.heater_cost_this_billing_period").state)
    assert energy > 0.9
    assert cost == pytest.approx(energy * 0.5, rel=0.05)


async def test_changes_during_outage_stay_unavailable(
    hass: HomeAssistant, init_integration: MockConfigEntry, feed: Any
) -> None:
    """An appliance created while the source is lost appears, unavailable until readings return."""
    await feed([150.0] * 3)
    await feed(["unavailable"])

    await hass.services.async_call(
        DOMAIN, "create_appliance", {"name": "Kettle"}, blocking=True, return_response=True
    )
    await hass.async_block_till_done()

    assert hass.states.get("binary_sensor.kettle_running").state == STATE_UNAVAILABLE
    await feed([150.0])
    assert hass.states.get("binary_sensor.kettle_running").state == "off"


async def test_settled_inrush_fires_the_event_again_revised(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    feed: Any,
    nilm_events: list[Any],
) -> None:
    """A motor start is reported at once; when its inrush settles the event is fired again, revised."""
    await feed([150.0] * 20 + [1650.0] * 3 + [240.0] * 20)

    first, again = (e.data for e in nilm_events)
    assert first["event_id"] == again["event_id"]
    assert (first["revised"], again["revised"]) == (False, True)
    assert first["step"] == pytest.approx(1500.0, abs=5.0)
    assert again["step"] == pytest.approx(90.0, abs=5.0)
    state = hass.states.get("event.house_power_appliance_event")
    assert state is not None
    assert state.attributes["revised"] is True
    assert state.attributes["step"] == pytest.approx(90.0, abs=5.0)
