"""Non-Intrusive Load Monitoring: appliances from one whole-house power meter."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .coordinator import NilmConfigEntry, NilmCoordinator, appliance_identifier
from .services import async_setup_services
from .storage import NilmStore
from .webhook import async_register_meter_webhook

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: NilmConfigEntry) -> bool:
    """Load the stored engine, start the source and the platforms."""
    coordinator = NilmCoordinator(hass, entry)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    if coordinator.meter is not None:
        entry.async_on_unload(
            async_register_meter_webhook(hass, entry, coordinator.async_on_readings)
        )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # The source starts after the platforms so that no first reading is published to nobody.
    coordinator.async_start()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: NilmConfigEntry) -> bool:
    """Unload the platforms; the coordinator saves the engine state as it shuts down."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: NilmConfigEntry) -> None:
    """Delete the stored state with the entry."""
    await NilmStore(hass, entry.entry_id).async_remove()


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: NilmConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a device only when it no longer stands for a known appliance or the hub."""
    coordinator = entry.runtime_data
    live = {
        appliance_identifier(entry, appliance_id) for appliance_id in coordinator.data.appliances
    }
    live.add((DOMAIN, entry.entry_id))
    return not device.identifiers & live
