"""Base entities: the hub (meter) device and one device per appliance."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import (
    NilmConfigEntry,
    NilmCoordinator,
    appliance_identifier,
    hub_identifier,
)
from .engine import Appliance


class NilmEntity(CoordinatorEntity[NilmCoordinator]):
    """An entity of the hub device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: NilmCoordinator, description: EntityDescription) -> None:
        """Attach the entity to the entry's hub device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        # entry_id, not unique_id: reconfiguring the source changes the unique id but not the entities.
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        # The coordinator registered the hub device with its details.
        self._attr_device_info = DeviceInfo(identifiers={hub_identifier(entry)})


class NilmApplianceEntity(NilmEntity):
    """An entity of one appliance's device."""

    def __init__(
        self, coordinator: NilmCoordinator, description: EntityDescription, appliance_id: str
    ) -> None:
        """Attach the entity to the appliance's device, under the hub."""
        super().__init__(coordinator, description)
        entry = coordinator.config_entry
        self.appliance_id = appliance_id
        self._attr_unique_id = f"{entry.entry_id}_{appliance_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={appliance_identifier(entry, appliance_id)},
            name=coordinator.data.appliances[appliance_id].name,
            manufacturer="NILM",
            model="Learned appliance",
            via_device_id=coordinator.hub_device_id,
        )

    @property
    def appliance(self) -> Appliance | None:
        """The appliance in the latest snapshot; None once it is deleted or merged."""
        return self.coordinator.data.appliances.get(self.appliance_id)

    @property
    def available(self) -> bool:
        """Available while the source delivers and the appliance exists."""
        return super().available and self.appliance is not None


@callback
def async_add_appliance_entities(
    entry: NilmConfigEntry,
    add_entities: Callable[[Iterable[Entity]], None],
    build: Callable[[NilmCoordinator, str], Iterable[Entity]],
) -> None:
    """Add an appliance's entities now and whenever the engine learns a new appliance."""
    coordinator = entry.runtime_data
    known: set[str] = set()

    @callback
    def add_new() -> None:
        if new := coordinator.data.appliances.keys() - known:
            known.update(new)
            add_entities(
                entity
                for appliance_id in sorted(new)
                for entity in build(coordinator, appliance_id)
            )

    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))
