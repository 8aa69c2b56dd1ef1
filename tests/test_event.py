"""The event entity: appliance_on, appliance_off and unidentified."""

from __future__ import annotations

from typing import Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

EVENT_ENTITY = "event.house_power_appliance_event"


@pytest.fixture
def platforms() -> list[Platform]:
    """Only the event platform."""
    return [Platform.EVENT]


@pytest.mark.freeze_time("2026-11-20 12:00:00+00:00")
async def test_entities(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
    entity_registry: er.EntityRegistry,
) -> None:
    """The hub's event entity with its three event types."""
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.usefixtures("init_integration")
async def test_unidentified_event_fires(hass: HomeAssistant, feed: Any) -> None:
    """A step nobody has labeled fires `unidentified` with its details."""
    await feed([150.0] * 20 + [2150.0] * 20)

    state = hass.states.get(EVENT_ENTITY)
    assert state is not None
    assert state.attributes["event_type"] == "unidentified"
    assert state.attributes["kind"] == "on"
    assert state.attributes["step"] == pytest.approx(2000, abs=50)
    assert state.attributes["label"] is None
