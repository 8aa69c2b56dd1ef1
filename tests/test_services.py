"""Actions: labeling, listing, appliance management, learn mode, and their translated errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nilm.const import DOMAIN

ENTRY_ID = "01JNILM0TESTENTRY000000000"
KETTLE_CYCLE = [150.0] * 20 + [2150.0] * 30 + [150.0] * 20


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = False
) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=response
    )


async def _pending(hass: HomeAssistant) -> list[dict[str, Any]]:
    result = await _call(hass, "list_events", {"kind": "pending"}, response=True)
    return sorted(result["events"], key=lambda e: e["time"])


@pytest.mark.usefixtures("init_integration")
async def test_label_event_creates_appliance_device(
    hass: HomeAssistant, feed: Any, device_registry: dr.DeviceRegistry
) -> None:
    """Labeling an unidentified event with a new name adds the appliance's device and entities."""
    await feed(KETTLE_CYCLE)
    pending = await _pending(hass)
    assert [e["kind"] for e in pending] == ["on", "off"]
    assert pending[0]["step"] == pytest.approx(2000, abs=50)
    assert pending[0]["status"] == "unidentified"

    await _call(hass, "label_event", {"event_id": pending[0]["event_id"], "appliance": "Kettle"})
    await hass.async_block_till_done()

    assert pending[0]["event_id"] not in [e["event_id"] for e in await _pending(hass)]
    labeled = await _call(hass, "list_events", {"kind": "labeled"}, response=True)
    assert [e["label"] for e in labeled["events"]] == ["Kettle"]
    assert "groups" not in labeled
    # The names a labeling UI offers.
    assert labeled["appliances"] == ["Kettle"]
    devices = [d.name for d in dr.async_entries_for_config_entry(device_registry, ENTRY_ID)]
    assert "Kettle" in devices
    assert hass.states.get("binary_sensor.kettle_running") is not None
    assert hass.states.get("sensor.kettle_energy") is not None


@pytest.mark.usefixtures("init_integration")
async def test_ignore_event(hass: HomeAssistant, feed: Any) -> None:
    """An ignored event no longer waits for a label."""
    await feed(KETTLE_CYCLE)
    pending = await _pending(hass)

    await _call(hass, "ignore_event", {"event_id": pending[0]["event_id"]})

    assert len(await _pending(hass)) == len(pending) - 1
    everything = await _call(hass, "list_events", {"kind": "all"}, response=True)
    assert {e["status"] for e in everything["events"]} >= {"ignored"}


@pytest.mark.usefixtures("init_integration")
async def test_label_group(hass: HomeAssistant, feed: Any) -> None:
    """A group of similar unidentified events is labeled with one call."""
    await feed(KETTLE_CYCLE * 3)
    listing = await _call(hass, "list_events", {}, response=True)
    group = max(listing["groups"], key=lambda g: g["count"])
    assert group["count"] >= 2
    # The source sensor gives active power only: no reactive step to tell loads of one size apart.
    assert group["reactive_step"] is None
    times = sorted(
        (e["time"] for e in listing["events"] if e["event_id"] in group["event_ids"]),
        key=datetime.fromisoformat,
    )
    assert (group["first_time"], group["last_time"]) == (times[0], times[-1])

    result = await _call(
        hass, "label_group", {"group_id": group["group_id"], "appliance": "Kettle"}, response=True
    )

    assert result == {"labeled": group["count"]}


@pytest.mark.usefixtures("init_integration")
async def test_label_group_within_a_time_window(hass: HomeAssistant, feed: Any) -> None:
    """Only the group's events between start and end are labeled; a time without zone is the home's."""
    await feed(KETTLE_CYCLE * 3)
    listing = await _call(hass, "list_events", {}, response=True)
    group = next(g for g in listing["groups"] if g["step"] > 0)
    times = sorted(
        (e["time"] for e in listing["events"] if e["event_id"] in group["event_ids"]),
        key=datetime.fromisoformat,
    )
    assert len(times) == 3
    # The second ON as the home's local time without its offset, the third with it.
    start = datetime.fromisoformat(times[1]).replace(tzinfo=None).isoformat()
    result = await _call(
        hass,
        "label_group",
        {"group_id": group["group_id"], "appliance": "Kettle", "start": start, "end": times[2]},
        response=True,
    )
    assert result == {"labeled": 2}
    labeled = await _call(hass, "list_events", {"kind": "labeled"}, response=True)
    assert sorted((e["time"] for e in labeled["events"]), key=datetime.fromisoformat) == times[1:]


@pytest.mark.usefixtures("init_integration")
async def test_appliance_management(
    hass: HomeAssistant, device_registry: dr.DeviceRegistry, entity_registry: er.EntityRegistry
) -> None:
    """Create, rename, merge and delete appliances; devices follow, stale ones are removed."""
    kettle = await _call(hass, "create_appliance", {"name": "Kettle"}, response=True)
    toaster = await _call(hass, "create_appliance", {"name": "Toaster"}, response=True)
    assert kettle["name"] == "Kettle"
    await hass.async_block_till_done()
    kettle_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{ENTRY_ID}_{kettle['appliance_id']}"), ENTRY_ID
    )
    toaster_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{ENTRY_ID}_{toaster['appliance_id']}"), ENTRY_ID
    )
    assert kettle_device is not None
    assert toaster_device is not None

    await _call(hass, "rename_appliance", {"appliance": "kettle", "name": "Water kettle"})
    await hass.async_block_till_done()
    kettle_device = device_registry.async_get(kettle_device.id)
    assert kettle_device is not None
    assert kettle_device.name == "Water kettle"

    await _call(hass, "merge_appliances", {"source": "Toaster", "target": kettle["appliance_id"]})
    await hass.async_block_till_done()
    assert device_registry.async_get(toaster_device.id) is None
    assert not er.async_entries_for_device(entity_registry, toaster_device.id)

    await _call(hass, "delete_appliance", {"appliance": "Water kettle"})
    await hass.async_block_till_done()
    assert device_registry.async_get(kettle_device.id) is None


@pytest.mark.usefixtures("init_integration")
async def test_learn_appliance(hass: HomeAssistant, feed: Any) -> None:
    """In learn mode the next on and off events are labeled with the appliance."""
    await feed([150.0] * 20)
    await _call(hass, "learn_appliance", {"appliance": "Kettle", "duration": 600})

    await feed(KETTLE_CYCLE)

    labeled = await _call(hass, "list_events", {"kind": "labeled"}, response=True)
    assert {e["label"] for e in labeled["events"]} == {"Kettle"}
    assert len(labeled["events"]) == 2
    assert hass.states.get("binary_sensor.kettle_running") is not None


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("label_event", {"event_id": "nope", "appliance": "Kettle"}, "unknown_event"),
        ("ignore_event", {"event_id": "nope"}, "unknown_event"),
        ("rename_appliance", {"appliance": "Nope", "name": "X"}, "unknown_appliance"),
        ("delete_appliance", {"appliance": "Nope"}, "unknown_appliance"),
        ("merge_appliances", {"source": "Nope", "target": "Kettle"}, "unknown_appliance"),
        ("merge_appliances", {"source": "Kettle", "target": "kettle"}, "merge_same_appliance"),
        ("create_appliance", {"name": "Kettle"}, "invalid_name"),
        ("label_group", {"group_id": "nope", "appliance": "Kettle"}, "unknown_group"),
    ],
)
async def test_errors_are_translated(
    hass: HomeAssistant, service: str, data: dict[str, Any], key: str
) -> None:
    """Bad input raises a ServiceValidationError with a translation key of this integration."""
    await _call(hass, "create_appliance", {"name": "Kettle"}, response=True)

    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, service, data)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key


async def test_errors_for_entries(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """An unknown or unloaded entry is rejected."""
    with pytest.raises(ServiceValidationError):
        await _call(hass, "list_events", {"config_entry_id": "missing"}, response=True)

    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError):
        await _call(
            hass, "list_events", {"config_entry_id": init_integration.entry_id}, response=True
        )
