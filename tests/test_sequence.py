"""A realistic day in miniature, fed through the source sensor: detect, label, recognise, restart."""

from __future__ import annotations

from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nilm.const import DOMAIN

BASE = 150.0
KETTLE = 2000.0
# Measured kettle: a 2 kW step with a little mains noise around both levels.
NOISE = [0.0, 1.5, -1.0, 0.5, -2.0, 1.0]


def _level(watts: float, seconds: int) -> list[float]:
    return [watts + NOISE[n % len(NOISE)] for n in range(seconds)]


def _kettle_cycle() -> list[float]:
    return _level(BASE, 40) + _level(BASE + KETTLE, 60) + _level(BASE, 40)


async def _call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=service == "list_events"
    )


async def test_detect_label_recognise_restart(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    feed: Any,
    nilm_events: list[Any],
) -> None:
    """Unknown steps become a Kettle after labeling; the next cycle drives its entities."""
    # 1. First cycle: nobody knows the kettle; two unidentified events, fired on the bus.
    await feed(_kettle_cycle())
    assert [(e.data["kind"], e.data["status"]) for e in nilm_events] == [
        ("on", "unidentified"),
        ("off", "unidentified"),
    ]
    assert nilm_events[0].data["step"] == pytest.approx(KETTLE, rel=0.05)
    assert nilm_events[1].data["step"] == pytest.approx(-KETTLE, rel=0.05)
    assert hass.states.get("sensor.house_power_events_to_label").state == "2"

    # 2. The user labels both from the notification's event ids.
    for event in nilm_events:
        await _call(
            hass, "label_event", {"event_id": event.data["event_id"], "appliance": "Kettle"}
        )
    await hass.async_block_till_done()
    assert hass.states.get("sensor.house_power_events_to_label").state == "0"
    assert hass.states.get("binary_sensor.kettle_running").state == STATE_OFF
    nilm_events.clear()

    # 3. Second cycle: recognised; the binary sensor follows within the same sample.
    cycle = _kettle_cycle()
    await feed(cycle[:45])
    assert hass.states.get("binary_sensor.kettle_running").state == STATE_ON
    running = hass.states.get("binary_sensor.kettle_running")
    assert running.attributes["confidence"] >= 0.6
    assert running.attributes["last_event_id"] == nilm_events[0].data["event_id"]
    assert float(hass.states.get("sensor.kettle_power").state) == pytest.approx(KETTLE, rel=0.05)
    assert hass.states.get("event.house_power_appliance_event").attributes["event_type"] == (
        "appliance_on"
    )
    await feed(cycle[45:])
    assert hass.states.get("binary_sensor.kettle_running").state == STATE_OFF
    assert hass.states.get("event.house_power_appliance_event").attributes["event_type"] == (
        "appliance_off"
    )
    assert [(e.data["kind"], e.data["label"]) for e in nilm_events] == [
        ("on", "Kettle"),
        ("off", "Kettle"),
    ]
    energy = float(hass.states.get("sensor.kettle_energy").state)
    assert energy == pytest.approx(KETTLE * 60 / 3.6e6, rel=0.15)

    # 4. Restart: labels and energy survive.
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    labeled = await _call(hass, "list_events", {"kind": "labeled"})
    assert len(labeled["events"]) >= 2
    assert float(hass.states.get("sensor.kettle_energy").state) == pytest.approx(energy)
