"""Persistence of one entry's engine state (appliances, signatures, events, energy) in a versioned Store."""

from __future__ import annotations

from collections.abc import Callable
import os
import shutil
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, ISSUE_CORRUPT_STORE, LOGGER, SAVE_DELAY_S, STORAGE_VERSION

type StoredState = dict[str, Any]


class NilmStore:
    """Load, save and quarantine the state of one config entry.

    A JSON syntax error is handled by Home Assistant's Store itself (it renames the file and raises its own
    repair issue). Anything else that cannot be read, an unreadable file, a newer format or content the
    engine rejects, is copied aside here and reported with this integration's repair issue, so the
    integration still starts, fresh, and the user can restore the copy.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Prepare the store of one entry; nothing is read yet."""
        self._hass = hass
        self._entry_id = entry_id
        self._store: Store[StoredState] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}", atomic_writes=True
        )

    @property
    def path(self) -> str:
        """Return the path of the file on disk."""
        return str(self._store.path)

    async def async_load(self) -> StoredState | None:
        """Return the stored state, or None to start fresh (nothing stored or unreadable)."""
        try:
            return await self._store.async_load()
        except (HomeAssistantError, KeyError, TypeError) as err:
            # KeyError/TypeError: JSON that is not a Store envelope ({"version", "data", ...}).
            await self.async_quarantine(repr(err) if not str(err) else str(err))
            return None

    async def async_quarantine(self, error: str) -> None:
        """Keep a copy of the unreadable file and tell the user through a repair issue."""
        copy = f"{self.path}.corrupt.{dt_util.utcnow().strftime('%Y%m%dT%H%M%S')}"
        if not await self._hass.async_add_executor_job(_copy_if_exists, self.path, copy):
            copy = ""
        LOGGER.error(
            "Cannot read the stored NILM state (%s); starting fresh, the old file is kept as %s",
            error,
            copy,
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            f"{ISSUE_CORRUPT_STORE}_{self._entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_CORRUPT_STORE,
            translation_placeholders={"path": self.path, "copy": copy, "error": error},
        )

    @callback
    def async_delay_save(self, data_func: Callable[[], StoredState]) -> None:
        """Save soon; Home Assistant writes a pending save when it stops."""
        self._store.async_delay_save(data_func, SAVE_DELAY_S)

    async def async_save(self, data: StoredState) -> None:
        """Save now (unload)."""
        await self._store.async_save(data)

    async def async_remove(self) -> None:
        """Delete the file when the entry is removed."""
        await self._store.async_remove()


def _copy_if_exists(path: str, copy: str) -> bool:
    """Copy the file aside; False when there is no file (the error came from elsewhere)."""
    if not os.path.exists(path):
        return False
    shutil.copy2(path, copy)
    return True
