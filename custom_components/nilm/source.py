"""Sources of whole-house power: Home Assistant sensors or a pushing meter, turned into engine Samples.

A source only translates; it reports Samples and its availability to the coordinator, which decides what
follows (logs, repair issues, entity availability).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_state_report_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from .const import CONF_POWER_ENTITY, METER_TIMEOUT
from .engine import Sample
from .meter import MeterInfo, MeterReading
from .units import SOURCE_QUANTITIES, Quantity, parse_value

type SamplesCallback = Callable[[list[Sample]], None]
type StatusCallback = Callable[[SourceStatus], None]


class SourceStatus(StrEnum):
    """Whether the source delivers power readings."""

    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    REMOVED = "removed"


def _state_value(state: State | None, quantity: Quantity) -> float | None:
    """A state in base units, or None when missing, unavailable, non-numeric or in an unknown unit."""
    if state is None:
        return None
    return parse_value(state.state, quantity, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))


class SensorSource:
    """Samples from the power sensor's state writes, completed by the latest optional readings.

    State *reports* count as much as changes: a meter that repeats the same value is in a steady state,
    not silent, and the engine needs those samples to confirm steady states.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        data: Mapping[str, Any],
        on_samples: SamplesCallback,
        on_status: StatusCallback,
    ) -> None:
        """Remember which entities to follow; nothing is subscribed yet."""
        self._hass = hass
        self.power_entity: str = data[CONF_POWER_ENTITY]
        # Optional sensors (entity id -> quantity), sampled at their latest value.
        self._extras = {
            data[key]: quantity
            for key, quantity in SOURCE_QUANTITIES.items()
            if key != CONF_POWER_ENTITY and data.get(key)
        }
        self._latest: dict[Quantity, float | None] = {}
        self._on_samples = on_samples
        self._on_status = on_status

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Subscribe to the sensors and report the current state; return the unsubscribe callback."""
        for entity_id, quantity in self._extras.items():
            self._latest[quantity] = _state_value(self._hass.states.get(entity_id), quantity)
        unsubscribers = [
            async_track_state_change_event(
                self._hass, self.power_entity, self._async_power_changed
            ),
            async_track_state_report_event(
                self._hass, self.power_entity, self._async_power_reported
            ),
        ]
        if self._extras:
            unsubscribers.append(
                async_track_state_change_event(
                    self._hass, list(self._extras), self._async_extra_changed
                )
            )
        self._async_handle_power(self._hass.states.get(self.power_entity), initial=True)

        @callback
        def unsubscribe() -> None:
            for unsub in unsubscribers:
                unsub()

        return unsubscribe

    @callback
    def _async_power_changed(self, event: Event[EventStateChangedData]) -> None:
        self._async_handle_power(event.data["new_state"])

    @callback
    def _async_power_reported(self, event: Event[EventStateReportedData]) -> None:
        self._async_handle_power(event.data["new_state"], event.data["last_reported"])

    @callback
    def _async_extra_changed(self, event: Event[EventStateChangedData]) -> None:
        quantity = self._extras[event.data["entity_id"]]
        self._latest[quantity] = _state_value(event.data["new_state"], quantity)

    @callback
    def _async_handle_power(
        self, state: State | None, reported: datetime | None = None, *, initial: bool = False
    ) -> None:
        if state is None:
            # At start-up the sensor may simply not exist yet; later, a vanished state means removal.
            missing = not initial or (
                self._hass.is_running
                and er.async_get(self._hass).async_get(self.power_entity) is None
            )
            self._on_status(SourceStatus.REMOVED if missing else SourceStatus.UNAVAILABLE)
            return
        if (power := _state_value(state, Quantity.P)) is None:
            self._on_status(SourceStatus.UNAVAILABLE)
            return
        self._on_status(SourceStatus.AVAILABLE)
        t = (reported or state.last_reported).timestamp()
        latest = self._latest
        self._on_samples(
            [
                Sample(
                    t,
                    power,
                    q=latest.get(Quantity.Q),
                    i=latest.get(Quantity.I),
                    v=latest.get(Quantity.V),
                    pf=latest.get(Quantity.PF),
                )
            ]
        )


class MeterSource:
    """Samples from batches the meter pushes to the webhook; lost when it stops pushing."""

    def __init__(
        self, hass: HomeAssistant, on_samples: SamplesCallback, on_status: StatusCallback
    ) -> None:
        """Start with no reading; the meter is unavailable until it pushes."""
        self._hass = hass
        self._on_samples = on_samples
        self._on_status = on_status
        self.latest: MeterReading | None = None
        self.info: MeterInfo | None = None
        self.last_seen: datetime | None = None

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Watch for silence; return the callback that stops watching."""
        self._on_status(SourceStatus.UNAVAILABLE)
        return async_track_time_interval(self._hass, self._async_check_silence, METER_TIMEOUT / 4)

    @callback
    def async_on_readings(self, info: MeterInfo, readings: list[MeterReading]) -> None:
        """Take one accepted batch from the webhook."""
        self.info = info
        self.last_seen = dt_util.utcnow()
        if not readings:
            return
        self.latest = readings[-1]
        self._on_status(SourceStatus.AVAILABLE)
        self._on_samples([reading.to_sample() for reading in readings])

    @callback
    def _async_check_silence(self, now: datetime) -> None:
        if self.last_seen is None or now - self.last_seen > METER_TIMEOUT:
            self._on_status(SourceStatus.UNAVAILABLE)
