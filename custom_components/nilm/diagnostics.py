"""Diagnostics: the entry, the source's state and the engine's snapshot, with secrets redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant

from .coordinator import NilmConfigEntry

TO_REDACT = {CONF_API_KEY, CONF_WEBHOOK_ID}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: NilmConfigEntry
) -> dict[str, Any]:
    """Return what helps to understand a detection problem, never the meter's credentials."""
    coordinator = entry.runtime_data
    meter = coordinator.meter
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": dict(entry.options),
        },
        "source": {
            "status": coordinator.source_status,
            "meter": None
            if meter is None
            else {
                "info": None if meter.info is None else asdict(meter.info),
                "latest": None if meter.latest is None else asdict(meter.latest),
                "last_seen": None if meter.last_seen is None else meter.last_seen.isoformat(),
            },
        },
        "snapshot": asdict(coordinator.data),
        "groups": [asdict(group) for group in coordinator.engine.groups()],
    }
