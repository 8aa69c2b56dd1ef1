"""Push coordinator: owns one entry's Engine and Store, feeds it samples, publishes snapshots and events.

Nothing polls. Samples arrive from the source (sensor state writes or meter pushes) and are fed in the event
loop, where one feed is cheap. Operations that retrain the model (labels, merges, learning) run in the
executor under a lock; samples that arrive meanwhile wait in a backlog and are fed right after, so the
engine is never used from two threads at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
import math
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import (
    CALLBACK_TYPE,
    Event as HassEvent,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    CONF_BILLING_DAY,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_CONTEXT_ENTITIES,
    CONF_EVENT_THRESHOLD,
    CONF_MAX_PENDING_EVENTS,
    CONF_PRICE_ENTITY,
    CONF_PRICE_PER_KWH,
    CONF_SOURCE,
    DEFAULT_BILLING_DAY,
    DEFAULT_CONFIDENCE_THRESHOLD,
    DEFAULT_EVENT_THRESHOLD,
    DEFAULT_MAX_PENDING_EVENTS,
    DEFAULT_PRICE_PER_KWH,
    DOMAIN,
    EVENT_NILM,
    ISSUE_SOURCE_REMOVED,
    LOGGER,
    PUBLISH_INTERVAL_S,
    SOURCE_METER,
)
from .engine import Appliance, Engine, EngineConfig, Event, NilmError, Sample, Snapshot
from .meter import MeterInfo, MeterReading
from .source import MeterSource, SensorSource, SourceStatus
from .storage import NilmStore, StoredState

type NilmConfigEntry = ConfigEntry[NilmCoordinator]
type EventListener = Callable[[Event, bool], None]


def engine_config(hass: HomeAssistant, options: dict[str, Any]) -> EngineConfig:
    """The engine's settings from the entry's options."""
    return EngineConfig(
        event_threshold_w=float(options.get(CONF_EVENT_THRESHOLD, DEFAULT_EVENT_THRESHOLD)),
        confidence_threshold=float(
            options.get(CONF_CONFIDENCE_THRESHOLD, DEFAULT_CONFIDENCE_THRESHOLD)
        ),
        max_pending_events=int(options.get(CONF_MAX_PENDING_EVENTS, DEFAULT_MAX_PENDING_EVENTS)),
        price_per_kwh=float(options.get(CONF_PRICE_PER_KWH, DEFAULT_PRICE_PER_KWH)),
        billing_day=int(options.get(CONF_BILLING_DAY, DEFAULT_BILLING_DAY)),
        timezone=str(hass.config.time_zone),
    )


def local_time(t: float) -> str:
    """A Unix time as the local ISO time people and automations read."""
    return dt_util.as_local(datetime.fromtimestamp(t, UTC)).isoformat()


def describe_event(event: Event, appliances: Mapping[str, Appliance]) -> dict[str, Any]:
    """An event for people and automations: the label is the appliance's name (None if unknown)."""

    def name(appliance_id: str | None) -> str | None:
        appliance = appliances.get(appliance_id) if appliance_id else None
        return appliance.name if appliance else None

    return {
        "event_id": event.id,
        "time": local_time(event.t),
        "kind": event.kind,
        "status": event.status,
        "step": round(event.dp, 1),
        "label": name(event.appliance_id),
        "appliance_id": event.appliance_id,
        "state": event.state,
        "confidence": round(event.confidence, 3),
        "candidates": [
            {
                "label": name(appliance_id) or appliance_id,
                "state": state,
                "probability": round(p, 3),
            }
            for appliance_id, state, p in event.candidates
        ],
    }


def hub_identifier(entry: ConfigEntry) -> tuple[str, str]:
    """Device registry identifier of the entry's hub (meter) device."""
    return (DOMAIN, entry.entry_id)


def appliance_identifier(entry: ConfigEntry, appliance_id: str) -> tuple[str, str]:
    """Device registry identifier of one appliance."""
    return (DOMAIN, f"{entry.entry_id}_{appliance_id}")


def entry_devices(
    registry: dr.DeviceRegistry, entry: ConfigEntry
) -> dict[tuple[str, str], dr.DeviceEntry]:
    """The entry's devices by identifier (identifiers are only unique within one entry)."""
    return {
        identifier: device
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
        for identifier in device.identifiers
    }


class NilmCoordinator(DataUpdateCoordinator[Snapshot]):
    """Holds the engine of one entry and publishes its snapshot to the entities."""

    config_entry: NilmConfigEntry
    engine: Engine

    def __init__(self, hass: HomeAssistant, entry: NilmConfigEntry) -> None:
        """Prepare the coordinator; the engine is loaded in the first refresh."""
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {entry.title}")
        self.store = NilmStore(hass, entry.entry_id)
        self.meter: MeterSource | None = None
        self.sensor: SensorSource | None = None
        if entry.data[CONF_SOURCE] == SOURCE_METER:
            self.meter = MeterSource(hass, self.async_on_samples, self._async_source_status)
        else:
            self.sensor = SensorSource(
                hass, entry.data, self.async_on_samples, self._async_source_status
            )
        self.source_status = SourceStatus.UNAVAILABLE
        self._lost_logged = False
        self._lock = asyncio.Lock()
        self._backlog: list[Sample] = []
        self._last_publish_t = -float("inf")
        self._saved_state: StoredState = {}
        self._event_listeners: list[EventListener] = []
        self._appliance_names: dict[str, str] = {}
        self.hub_device_id = ""

    async def _async_setup(self) -> None:
        """Register the hub device; restore the engine (an unreadable state starts a fresh one)."""
        entry = self.config_entry
        hub = dr.async_get(self.hass).async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={hub_identifier(entry)},
            name=entry.title,
            manufacturer="NILM",
            model="ESP32 meter" if self.meter else "Power sensor",
        )
        self.hub_device_id = hub.id
        config = engine_config(self.hass, dict(self.config_entry.options))
        stored = await self.store.async_load()
        if stored is not None:
            try:
                self.engine = await self.hass.async_add_executor_job(
                    Engine.from_dict, stored, config
                )
            except (NilmError, KeyError, TypeError, ValueError) as err:
                await self.store.async_quarantine(f"{type(err).__name__}: {err}")
            else:
                self._saved_state = stored
                return
        self.engine = Engine(config)
        self._saved_state = self.engine.to_dict()

    async def _async_update_data(self) -> Snapshot:
        """Only the first refresh calls this; afterwards data is pushed."""
        return self.engine.snapshot()

    @callback
    def async_start(self) -> None:
        """Start following the source, the price entity; stop with the entry."""
        entry = self.config_entry
        self._appliance_names = {a.id: a.name for a in self.data.appliances.values()}
        source = self.meter or self.sensor
        assert source is not None
        # Entities stay unavailable until the source delivers its first reading.
        self.last_update_success = False
        self.async_update_listeners()
        entry.async_on_unload(source.async_start())
        if price_entity := entry.options.get(CONF_PRICE_ENTITY):
            entry.async_on_unload(
                async_track_state_change_event(self.hass, price_entity, self._async_price_changed)
            )
            self._async_apply_price(self.hass.states.get(price_entity))

    # --- Feeding ---------------------------------------------------------------------------

    @callback
    def async_on_readings(self, info: MeterInfo, readings: list[MeterReading]) -> None:
        """Take a batch from the meter's webhook (CONTRACTS.md "Integration <-> webhook")."""
        assert self.meter is not None
        if self.meter.info != info:
            # The firmware may have been updated or the meter replaced: keep the hub device in step.
            dr.async_get(self.hass).async_update_device(
                self.hub_device_id, sw_version=info.fw, serial_number=info.device_id
            )
        self.meter.async_on_readings(info, readings)

    @callback
    def async_on_samples(self, samples: list[Sample]) -> None:
        """Feed samples now, or after the running executor job if one holds the engine."""
        if self._lock.locked():
            self._backlog.extend(samples)
            return
        self._async_feed(samples)

    @callback
    def _async_feed(self, samples: list[Sample]) -> None:
        if not samples:
            return
        update = self.engine.feed(samples)
        for event in update.events:
            self._async_fire(event)
        for event in update.revised:
            self._async_fire(event, revised=True)
        self._async_schedule_save()
        if update.events or samples[-1].t - self._last_publish_t >= PUBLISH_INTERVAL_S:
            self._last_publish_t = samples[-1].t
            self.async_publish()

    @callback
    def async_publish(self) -> None:
        """Hand the current snapshot to the entities; keep the device registry in step."""
        snapshot = self.engine.snapshot()
        self._async_sync_devices(snapshot)
        if self.source_status is SourceStatus.AVAILABLE:
            self.async_set_updated_data(snapshot)
        else:
            # Mid-outage changes (labels, renames) are published without claiming fresh readings.
            self.data = snapshot
            self.async_update_listeners()

    # --- Availability ------------------------------------------------------------------------

    @callback
    def _async_source_status(self, status: SourceStatus) -> None:
        previous, self.source_status = self.source_status, status
        if status is previous:
            return
        entry = self.config_entry
        issue_id = f"{ISSUE_SOURCE_REMOVED}_{entry.entry_id}"
        if status is SourceStatus.AVAILABLE:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            if self._lost_logged:
                LOGGER.info("The power source of %s is available again", entry.title)
                self._lost_logged = False
            self.last_update_success = True
            self.async_update_listeners()
            return
        if status is SourceStatus.REMOVED and self.sensor is not None:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_SOURCE_REMOVED,
                translation_placeholders={
                    "entity_id": self.sensor.power_entity,
                    "title": entry.title,
                },
            )
        if previous is SourceStatus.AVAILABLE:
            LOGGER.info("The power source of %s is unavailable (%s)", entry.title, status)
            self._lost_logged = True
            # No event may be invented across the outage: the next sample starts a new segment.
            self.engine.mark_gap()
        self.last_update_success = False
        self.async_update_listeners()

    # --- Events ---------------------------------------------------------------------------

    @callback
    def async_add_event_listener(self, listener: EventListener) -> CALLBACK_TYPE:
        """Call `listener` with every confirmed or revised event; return the callback that stops it."""
        self._event_listeners.append(listener)

        @callback
        def remove() -> None:
            self._event_listeners.remove(listener)

        return remove

    @callback
    def _async_fire(self, event: Event, *, revised: bool = False) -> None:
        for listener in list(self._event_listeners):
            listener(event, revised)
        self.hass.bus.async_fire(EVENT_NILM, self.event_data(event, revised=revised))

    def event_data(self, event: Event, *, revised: bool = False) -> dict[str, Any]:
        """The bus event payload: what an automation needs to notify and label.

        `revised` marks an event fired before whose step or identification changed (a settled inrush, an
        unidentified ON named later by how long its load ran, a run handed to a look-alike, or a step that
        held a pulse's edge named as the other load's switching).
        """
        return {
            "config_entry_id": self.config_entry.entry_id,
            **describe_event(event, self.data.appliances),
            "revised": revised,
            "context": self._context_values(),
        }

    def _context_values(self) -> dict[str, str]:
        """Current states of the context sensors the user chose (for example outdoor temperature)."""
        values: dict[str, str] = {}
        for entity_id in self.config_entry.options.get(CONF_CONTEXT_ENTITIES, []):
            if state := self.hass.states.get(entity_id):
                values[entity_id] = state.state
        return values

    # --- Operations (actions) ---------------------------------------------------------------

    async def async_run[**P, R](self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run an engine operation in the executor, holding the engine; publish and save after.

        NilmError propagates to the caller (the action), which translates it.
        """
        async with self._lock:
            try:
                return await self.hass.async_add_executor_job(lambda: func(*args, **kwargs))
            finally:
                backlog, self._backlog = self._backlog, []
                self._async_feed(backlog)
                self._saved_state = self.engine.to_dict()
                self._async_schedule_save()
                self.async_publish()

    def appliance_by_ref(self, ref: str) -> Appliance | None:
        """An appliance by id, or by name ignoring case."""
        appliances = self.data.appliances
        if ref in appliances:
            return appliances[ref]
        folded = ref.strip().casefold()
        return next((a for a in appliances.values() if a.name.casefold() == folded), None)

    @callback
    def _async_price_changed(self, event: HassEvent[EventStateChangedData]) -> None:
        self._async_apply_price(event.data["new_state"])

    @callback
    def _async_apply_price(self, state: State | None) -> None:
        try:
            price = float(state.state) if state else math.nan
        except ValueError:
            price = math.nan
        if not math.isfinite(price) or price < 0:
            return  # no state yet, unavailable or nonsense: keep the last price
        self.config_entry.async_create_task(
            self.hass, self.async_run(self.engine.set_price, price), "nilm set price"
        )

    # --- Devices and persistence --------------------------------------------------------------

    @callback
    def _async_sync_devices(self, snapshot: Snapshot) -> None:
        """Rename devices of renamed appliances; remove devices of deleted or merged ones."""
        names = {a.id: a.name for a in snapshot.appliances.values()}
        if names == self._appliance_names:
            return
        entry = self.config_entry
        registry = dr.async_get(self.hass)
        devices = entry_devices(registry, entry)
        for appliance_id, old_name in self._appliance_names.items():
            if (device := devices.get(appliance_identifier(entry, appliance_id))) is None:
                continue
            if appliance_id not in names:
                registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)
            elif names[appliance_id] != old_name:
                registry.async_update_device(device.id, name=names[appliance_id])
        self._appliance_names = names

    @callback
    def _async_schedule_save(self) -> None:
        self.store.async_delay_save(self._state_for_store)

    @callback
    def _state_for_store(self) -> StoredState:
        # An executor job may be changing the engine right now: then the last consistent state is
        # saved, and the job schedules another save when it is done.
        if not self._lock.locked():
            self._saved_state = self.engine.to_dict()
        return self._saved_state

    async def async_shutdown(self) -> None:
        """Save at once when the entry unloads."""
        await super().async_shutdown()
        async with self._lock:
            await self.store.async_save(self.engine.to_dict())
