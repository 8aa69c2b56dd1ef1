"""Non-Intrusive Load Monitoring: appliances from one whole-house power meter."""

from __future__ import annotations

from pathlib import Path

from homeassistant.components.frontend import add_extra_js_url
from homeassistant.components.http import StaticPathConfig  # type: ignore[attr-defined]
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType
from homeassistant.loader import async_get_integration

from .const import CARD_URL, DOMAIN
from .coordinator import NilmConfigEntry, NilmCoordinator, appliance_identifier
from .services import async_setup_services
from .storage import NilmStore
from .webhook import async_register_meter_webhook

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions and serve the labeling card, once for all entries."""
    async_setup_services(hass)
    card = Path(__file__).parent / "frontend" / "nilm-label-card.js"
    # StaticPathConfig is re-exported by the http component for integrations (mypy sees no __all__).
    await hass.http.async_register_static_paths([StaticPathConfig(CARD_URL, str(card), True)])
    if "frontend" in hass.config.components:
        # Loaded with every dashboard, so the card needs no resource entry; the version busts caches.
        integration = await async_get_integration(hass, DOMAIN)
        add_extra_js_url(hass, f"{CARD_URL}?v={integration.version}")
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
