"""Setup, unload, persistence, a corrupt store, source availability and repair issues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, STATE_UNAVAILABLE
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nilm.const import DOMAIN, ISSUE_CORRUPT_STORE, ISSUE_SOURCE_REMOVED

POWER_ENTITY = "sensor.house_power"
UNIDENTIFIED = "sensor.house_power_unidentified_power"
STORE_KEY = "nilm.01JNILM0TESTENTRY000000000"


async def test_load_unload(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The entry loads, and unloading saves the engine state."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(UNIDENTIFIED) is not None

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()

    assert init_integration.state is ConfigEntryState.NOT_LOADED


async def test_unload_saves_and_remove_deletes_store(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Unload writes the store at once; removing the entry deletes it."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert hass_storage[STORE_KEY]["data"]["version"] >= 1

    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()

    assert STORE_KEY not in hass_storage


async def test_final_write_flushes_pending_save(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    feed: Any,
) -> None:
    """A debounced save is written when Home Assistant stops, before the delay elapses."""
    await feed([150.0] * 5)
    assert STORE_KEY not in hass_storage

    hass.set_state(CoreState.stopping)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()

    assert STORE_KEY in hass_storage


async def test_unreadable_store_starts_fresh_with_repair_issue(
    hass: HomeAssistant,
    *,
    mock_config_entry: MockConfigEntry,
    power_sensor: str,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Content the engine rejects: the entry still loads, the file is copied aside, a repair is raised."""
    hass.config.config_dir = str(tmp_path)
    storage_dir = tmp_path / ".storage"
    storage_dir.mkdir()
    (storage_dir / STORE_KEY).write_text('{"version": 1, "data": {"version": 999}}')
    hass_storage[STORE_KEY] = {"version": 1, "data": {"version": 999}}
    mock_config_entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    issue = issue_registry.async_get_issue(
        DOMAIN, f"{ISSUE_CORRUPT_STORE}_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    copies = list(storage_dir.glob(f"{STORE_KEY}.corrupt.*"))
    assert len(copies) == 1
    assert copies[0].read_text() == '{"version": 1, "data": {"version": 999}}'
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["copy"] == str(copies[0])
    assert "starting fresh" in caplog.text


async def test_store_without_envelope(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    power_sensor: str,
    hass_storage: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    """A store the Store itself cannot read: the entry loads, a repair is raised, no copy without a file."""
    hass_storage[STORE_KEY] = {"version": 7, "data": {}}
    mock_config_entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    issue = issue_registry.async_get_issue(
        DOMAIN, f"{ISSUE_CORRUPT_STORE}_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["copy"] == ""


async def test_source_unavailable_and_back(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    feed: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entities go unavailable with the source; one info line when lost, one when back."""
    await feed([150.0] * 3)
    assert hass.states.get(UNIDENTIFIED).state != STATE_UNAVAILABLE
    caplog.clear()

    await feed(["unavailable", "unavailable", "unknown"])
    assert hass.states.get(UNIDENTIFIED).state == STATE_UNAVAILABLE

    await feed([150.0, 151.0])
    assert hass.states.get(UNIDENTIFIED).state != STATE_UNAVAILABLE
    lost = [r for r in caplog.records if "is unavailable" in r.getMessage()]
    back = [r for r in caplog.records if "available again" in r.getMessage()]
    assert len(lost) == 1
    assert len(back) == 1
    assert lost[0].levelname == back[0].levelname == "INFO"


async def test_no_event_across_outage(
    hass: HomeAssistant, init_integration: MockConfigEntry, feed: Any, nilm_events: list[Any]
) -> None:
    """A level change hidden by an outage is not reported as an event."""
    await feed([150.0] * 30)
    await feed(["unavailable"] * 5)
    await feed([2150.0] * 30)

    assert nilm_events == []


async def test_source_removed_raises_repair_issue(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    feed: Any,
) -> None:
    """Removing the power sensor raises a repair issue; its return clears it."""
    issue_id = f"{ISSUE_SOURCE_REMOVED}_{init_integration.entry_id}"
    await feed([150.0])

    hass.states.async_remove(POWER_ENTITY)
    await hass.async_block_till_done()

    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert hass.states.get(UNIDENTIFIED).state == STATE_UNAVAILABLE

    await feed([150.0])
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_source_missing_at_start(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """A sensor not created yet during start-up is waited for; once running, a missing one is an issue."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert hass.states.get(UNIDENTIFIED).state == STATE_UNAVAILABLE
    issue_id = f"{ISSUE_SOURCE_REMOVED}_{mock_config_entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None


async def test_remove_config_entry_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: Any,
) -> None:
    """The hub device cannot be removed by the user; a stale device can."""
    from homeassistant.setup import async_setup_component

    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    hub = device_registry.async_get_device_by_identifier(
        (DOMAIN, init_integration.entry_id), init_integration.entry_id
    )
    stale = device_registry.async_get_or_create(
        config_entry_id=init_integration.entry_id, identifiers={(DOMAIN, "gone")}
    )

    async def remove(device_id: str) -> bool:
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": init_integration.entry_id,
                "device_id": device_id,
            }
        )
        return bool((await client.receive_json())["success"])

    assert hub is not None
    assert not await remove(hub.id)
    assert await remove(stale.id)
