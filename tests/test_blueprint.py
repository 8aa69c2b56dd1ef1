"""The notification blueprint: Home Assistant's blueprint schema accepts it, and as a real automation with a real
mobile_app device (local push over the WebSocket channel, as the Companion app connects) it notifies with the
event's candidates and labels the event from the answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation.config import AUTOMATION_BLUEPRINT_SCHEMA
from homeassistant.components.blueprint import Blueprint, BlueprintInputs
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

BLUEPRINT = (
    Path(__file__).parents[1] / "blueprints/automation/nilm/unidentified_event_notification.yaml"
)
WEBHOOK_ID = "phone-webhook-id"
ENTRY_ID = "01JNILMENTRY0000000000000"


def _blueprint() -> Blueprint:
    return Blueprint(
        load_yaml_dict(str(BLUEPRINT)),
        path="nilm/unidentified_event_notification.yaml",
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )


def test_blueprint_loads_with_the_automation_blueprint_schema() -> None:
    blueprint = _blueprint()
    assert blueprint.validate() is None
    assert set(blueprint.inputs) == {
        "notify_device",
        "min_step",
        "max_buttons",
        "quiet_minutes",
        "answer_timeout",
    }


def _nilm_event(**overrides: Any) -> dict[str, Any]:
    return {
        "config_entry_id": ENTRY_ID,
        "event_id": "ev42",
        "time": "2026-11-23T07:15:00+00:00",
        "kind": "on",
        "status": "unidentified",
        "step": 1987.4,
        "label": None,
        "appliance_id": None,
        "state": None,
        "confidence": 0.41,
        "candidates": [
            {"label": "Kettle", "state": None, "probability": 0.41},
            {"label": "Washing machine", "state": "heat", "probability": 0.33},
            {"label": "Oven", "state": None, "probability": 0.1},
        ],
    } | overrides


@pytest.fixture
async def phone(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, hass_admin_user: Any
) -> Any:
    """A mobile_app phone of the admin user whose notifications arrive over its local push channel."""
    entry = MockConfigEntry(
        domain="mobile_app",
        title="Test phone",
        data={
            "app_data": {"push_websocket_channel": True},
            "app_id": "io.homeassistant.mobile_app",
            "app_name": "Home Assistant",
            "app_version": "2026.11",
            "device_id": "phone-device-id",
            "device_name": "Test phone",
            "manufacturer": "Home Assistant",
            "model": "Phone",
            "os_name": "Android",
            "os_version": "16",
            "supports_encryption": False,
            "user_id": hass_admin_user.id,
            "webhook_id": WEBHOOK_ID,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "mobile_app/push_notification_channel", "webhook_id": WEBHOOK_ID}
    )
    assert (await client.receive_json())["success"]
    [device] = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return device, client


async def _automation(hass: HomeAssistant, device_id: str, **inputs: Any) -> None:
    config = BlueprintInputs(
        _blueprint(),
        {
            "use_blueprint": {
                "path": "nilm/unidentified_event_notification.yaml",
                "input": {"notify_device": device_id, **inputs},
            }
        },
    ).async_substitute()
    assert await async_setup_component(
        hass, "automation", {"automation": [{"id": "nilm_notify", "alias": "NILM", **config}]}
    )
    await hass.async_block_till_done()


def _answer(hass: HomeAssistant, action: str, reply: str | None = None) -> None:
    """What the Companion app fires when a notification button is pressed."""
    data = {"action": action} | ({"reply_text": reply} if reply is not None else {})
    hass.bus.async_fire("mobile_app_notification_action", data)


async def test_a_candidate_button_labels_the_event(hass: HomeAssistant, phone: Any) -> None:
    device, client = phone
    labels: list[ServiceCall] = async_mock_service(hass, "nilm", "label_event")
    await _automation(hass, device.id)

    # No async_block_till_done while a run waits for the answer: it would wait with it.
    hass.bus.async_fire("nilm_event", _nilm_event())
    notification = (await client.receive_json(timeout=5))["event"]
    assert notification["title"] == "Something switched on (+1987 W)"
    assert "Kettle or Washing machine?" in notification["message"]
    buttons = notification["data"]["actions"]
    assert [b["title"] for b in buttons] == [
        "Kettle",
        "Washing machine (heat)",
        "New appliance",
        "Ignore",
    ]
    assert buttons[2]["behavior"] == "textInput"

    _answer(hass, buttons[1]["action"])
    await hass.async_block_till_done()
    assert [call.data for call in labels] == [
        {
            "config_entry_id": ENTRY_ID,
            "event_id": "ev42",
            "appliance": "Washing machine",
            "state": "heat",
        }
    ]


async def test_new_appliance_takes_the_reply_and_ignore_ignores(
    hass: HomeAssistant, phone: Any
) -> None:
    device, client = phone
    labels: list[ServiceCall] = async_mock_service(hass, "nilm", "label_event")
    ignored: list[ServiceCall] = async_mock_service(hass, "nilm", "ignore_event")
    await _automation(hass, device.id, max_buttons=0, quiet_minutes=0)

    hass.bus.async_fire("nilm_event", _nilm_event(event_id="ev1", candidates=[]))
    hass.bus.async_fire("nilm_event", _nilm_event(event_id="ev2", kind="off", step=-60.0))
    first = (await client.receive_json(timeout=5))["event"]
    second = (await client.receive_json(timeout=5))["event"]
    assert second["title"] == "Something switched off (-60 W)"
    assert [b["title"] for b in first["data"]["actions"]] == ["New appliance", "Ignore"]

    # An answer to one notification labels only its own event.
    _answer(hass, first["data"]["actions"][0]["action"], reply="  Heat pump ")
    _answer(hass, second["data"]["actions"][1]["action"])
    await hass.async_block_till_done()
    assert [call.data for call in labels] == [
        {"config_entry_id": ENTRY_ID, "event_id": "ev1", "appliance": "Heat pump"}
    ]
    assert [call.data for call in ignored] == [{"config_entry_id": ENTRY_ID, "event_id": "ev2"}]


async def test_small_steps_and_other_events_do_not_notify(hass: HomeAssistant, phone: Any) -> None:
    device, client = phone
    ignored: list[ServiceCall] = async_mock_service(hass, "nilm", "ignore_event")
    await _automation(hass, device.id, min_step=100)

    hass.bus.async_fire("nilm_event", _nilm_event(step=40.0))
    hass.bus.async_fire("nilm_event", _nilm_event(status="identified", label="Kettle"))
    hass.bus.async_fire("nilm_event", _nilm_event(event_id="big", step=150.0))
    # Notifications arrive in order: the first one is the big step's.
    notification = (await client.receive_json(timeout=5))["event"]
    assert notification["data"]["tag"] == "nilm-big"
    _answer(hass, notification["data"]["actions"][-1]["action"])
    await hass.async_block_till_done()
    assert [call.data["event_id"] for call in ignored] == ["big"]


async def test_a_quiet_time_holds_back_the_next_notifications(
    hass: HomeAssistant, phone: Any, freezer: FrozenDateTimeFactory
) -> None:
    """A wash's dozens of events ask once; after the quiet time the next event asks again."""
    device, client = phone
    await _automation(hass, device.id, quiet_minutes=10)

    async def asked(event_id: str) -> bool:
        """Fire an event and let its trigger run to its conditions: did its actions (the question) start?

        No async_block_till_done: it would wait with the runs, which wait for answers.
        """
        hass.bus.async_fire("nilm_event", _nilm_event(event_id=event_id))
        for _ in range(10):
            await asyncio.sleep(0)
        last = hass.states.get("automation.nilm").attributes["last_triggered"]
        return bool(last == dt_util.utcnow())

    assert await asked("drum1")
    assert (await client.receive_json(timeout=5))["event"]["data"]["tag"] == "nilm-drum1"
    # The clock jumps from here, which the phone's socket does not outlive: the automation tells what it asked.
    freezer.tick(timedelta(minutes=9))
    assert not await asked("drum2")
    freezer.tick(timedelta(minutes=2))
    assert await asked("drum3")
