"""Binary sensors: whether each appliance is running."""

from __future__ import annotations

from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import NilmConfigEntry, NilmCoordinator
from .entity import NilmApplianceEntity, async_add_appliance_entities

PARALLEL_UPDATES = 0

RUNNING = BinarySensorEntityDescription(
    key="running",
    device_class=BinarySensorDeviceClass.RUNNING,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NilmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a running sensor per appliance, now and whenever one is learned."""

    def build(coordinator: NilmCoordinator, appliance_id: str) -> list[NilmRunningSensor]:
        return [NilmRunningSensor(coordinator, RUNNING, appliance_id)]

    async_add_appliance_entities(entry, async_add_entities, build)


class NilmRunningSensor(NilmApplianceEntity, BinarySensorEntity):
    """On while the engine tracks the appliance as on."""

    @property
    def is_on(self) -> bool | None:
        """Return whether the appliance runs."""
        return None if (appliance := self.appliance) is None else appliance.on

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the last decision's confidence, the current state name and the last event."""
        if (appliance := self.appliance) is None:
            return None
        return {
            "confidence": round(appliance.confidence, 3),
            "state": appliance.state,
            "last_event_id": appliance.last_event_id,
        }
