"""Event entity: fires when an appliance switches on or off, or when a step stays unidentified."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import EVENT_TYPE_OFF, EVENT_TYPE_ON, EVENT_TYPE_UNIDENTIFIED
from .coordinator import NilmConfigEntry
from .engine import Event
from .entity import NilmEntity

PARALLEL_UPDATES = 0

APPLIANCE_EVENT = EventEntityDescription(
    key="appliance_event",
    translation_key="appliance_event",
    event_types=[EVENT_TYPE_ON, EVENT_TYPE_OFF, EVENT_TYPE_UNIDENTIFIED],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NilmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the hub's event entity."""
    async_add_entities([NilmEventEntity(entry.runtime_data, APPLIANCE_EVENT)])


def event_type(event: Event) -> str:
    """The event type an automation triggers on."""
    if event.appliance_id is None or event.status in ("unidentified", "ignored"):
        return EVENT_TYPE_UNIDENTIFIED
    return EVENT_TYPE_ON if event.kind == "on" else EVENT_TYPE_OFF


class NilmEventEntity(NilmEntity, EventEntity):
    """Fires one event per confirmed switching event."""

    async def async_added_to_hass(self) -> None:
        """Listen to the coordinator's events while added."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_event_listener(self._async_on_event))

    @callback
    def _async_on_event(self, event: Event, revised: bool) -> None:
        data = self.coordinator.event_data(event, revised=revised)
        del data["config_entry_id"]
        self._trigger_event(event_type(event), data)
        self.async_write_ha_state()
