"""Binary sensors: one running sensor per appliance."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.nilm.const import DOMAIN


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the binary sensor platform."""
    return [Platform.BINARY_SENSOR]


@pytest.mark.freeze_time("2026-11-20 12:00:00+00:00")
async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
) -> None:
    """An appliance created by the action gets its running sensor without a reload."""
    assert not er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)

    await hass.services.async_call(
        DOMAIN, "create_appliance", {"name": "Kettle"}, blocking=True, return_response=True
    )
    await hass.async_block_till_done()

    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)
