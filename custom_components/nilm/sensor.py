"""Sensors: hub totals, the meter's readings and, per appliance, power, energy and cost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfReactivePower,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import NilmConfigEntry, NilmCoordinator, describe_event
from .engine import Appliance, Snapshot
from .entity import NilmApplianceEntity, NilmEntity, async_add_appliance_entities
from .meter import MeterReading

PARALLEL_UPDATES = 0


def _utc(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


@dataclass(frozen=True, kw_only=True)
class NilmHubSensorDescription(SensorEntityDescription):
    """A hub sensor computed from the engine's snapshot."""

    value_fn: Callable[[Snapshot], StateType | datetime]
    attrs_fn: Callable[[Snapshot], dict[str, Any] | None] = lambda _: None
    monetary: bool = False


@dataclass(frozen=True, kw_only=True)
class NilmMeterSensorDescription(SensorEntityDescription):
    """A sensor of the pushing meter computed from its latest reading."""

    value_fn: Callable[[MeterReading], float | None]


@dataclass(frozen=True, kw_only=True)
class NilmApplianceSensorDescription(SensorEntityDescription):
    """A per-appliance sensor computed from the appliance's view in the snapshot."""

    value_fn: Callable[[Appliance], float]
    monetary: bool = False


def _last_event_attrs(snapshot: Snapshot) -> dict[str, Any] | None:
    if (event := snapshot.last_event) is None:
        return None
    return describe_event(event, snapshot.appliances)


HUB_SENSORS: tuple[NilmHubSensorDescription, ...] = (
    NilmHubSensorDescription(
        key="unidentified_power",
        translation_key="unidentified_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda s: s.unidentified_w,
    ),
    NilmHubSensorDescription(
        key="always_on_power",
        translation_key="always_on_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda s: s.baseload_w,
    ),
    NilmHubSensorDescription(
        key="pending_events",
        translation_key="pending_events",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda s: s.pending_count,
    ),
    NilmHubSensorDescription(
        key="last_event",
        translation_key="last_event",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda s: _utc(s.last_event.t) if s.last_event else None,
        attrs_fn=_last_event_attrs,
    ),
    NilmHubSensorDescription(
        key="billing_period_cost",
        translation_key="billing_period_cost",
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=lambda s: s.period_cost,
        monetary=True,
    ),
    NilmHubSensorDescription(
        key="projected_bill",
        translation_key="projected_bill",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda s: s.projected_bill,
        monetary=True,
    ),
)

METER_SENSORS: tuple[NilmMeterSensorDescription, ...] = (
    NilmMeterSensorDescription(
        key="meter_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=1,
        value_fn=lambda r: r.p,
    ),
    NilmMeterSensorDescription(
        key="meter_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda r: None if r.e is None else r.e / 1000.0,
    ),
    NilmMeterSensorDescription(
        key="meter_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=1,
        value_fn=lambda r: r.v,
    ),
    NilmMeterSensorDescription(
        key="meter_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=2,
        value_fn=lambda r: r.i,
    ),
    NilmMeterSensorDescription(
        key="meter_frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=lambda r: r.f,
    ),
    NilmMeterSensorDescription(
        key="meter_power_factor",
        device_class=SensorDeviceClass.POWER_FACTOR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        entity_registry_enabled_default=False,
        value_fn=lambda r: r.pf,
    ),
    NilmMeterSensorDescription(
        key="meter_reactive_power",
        device_class=SensorDeviceClass.REACTIVE_POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfReactivePower.VOLT_AMPERE_REACTIVE,
        suggested_display_precision=1,
        entity_registry_enabled_default=False,
        value_fn=lambda r: r.reactive_power,
    ),
)

LAST_SEEN = SensorEntityDescription(
    key="last_seen",
    translation_key="last_seen",
    device_class=SensorDeviceClass.TIMESTAMP,
    entity_category=EntityCategory.DIAGNOSTIC,
)

APPLIANCE_POWER = NilmApplianceSensorDescription(
    key="power",
    device_class=SensorDeviceClass.POWER,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfPower.WATT,
    suggested_display_precision=0,
    value_fn=lambda a: a.power_w,
)
APPLIANCE_ENERGY = NilmApplianceSensorDescription(
    key="energy",
    device_class=SensorDeviceClass.ENERGY,
    state_class=SensorStateClass.TOTAL_INCREASING,
    native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    suggested_display_precision=3,
    value_fn=lambda a: a.energy_kwh,
)
APPLIANCE_COST = NilmApplianceSensorDescription(
    key="cost",
    translation_key="cost",
    device_class=SensorDeviceClass.MONETARY,
    state_class=SensorStateClass.TOTAL,
    suggested_display_precision=2,
    value_fn=lambda a: a.cost,
    monetary=True,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NilmConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the hub and meter sensors, and the sensors of every appliance, now and later."""
    coordinator = entry.runtime_data
    entities: list[SensorEntity] = [NilmHubSensor(coordinator, d) for d in HUB_SENSORS]
    if coordinator.meter is not None:
        entities.extend(NilmMeterSensor(coordinator, d) for d in METER_SENSORS)
        entities.append(NilmLastSeenSensor(coordinator, LAST_SEEN))
    async_add_entities(entities)

    def build(coordinator: NilmCoordinator, appliance_id: str) -> list[SensorEntity]:
        return [
            NilmApplianceSensor(coordinator, APPLIANCE_POWER, appliance_id),
            NilmApplianceEnergySensor(coordinator, APPLIANCE_ENERGY, appliance_id),
            NilmApplianceSensor(coordinator, APPLIANCE_COST, appliance_id),
        ]

    async_add_appliance_entities(entry, async_add_entities, build)


class NilmHubSensor(NilmEntity, SensorEntity):
    """A total of the whole house: unidentified or always-on power, pending events, bill."""

    entity_description: NilmHubSensorDescription

    def __init__(self, coordinator: NilmCoordinator, description: NilmHubSensorDescription) -> None:
        """Monetary sensors use Home Assistant's currency."""
        super().__init__(coordinator, description)
        if description.monetary:
            self._attr_native_unit_of_measurement = coordinator.hass.config.currency

    @property
    def native_value(self) -> StateType | datetime:
        """Return the value from the snapshot."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the details (the last event's step, candidates and confidence)."""
        return self.entity_description.attrs_fn(self.coordinator.data)

    @property
    def last_reset(self) -> datetime | None:
        """The billing period's start, for the period's running cost."""
        if self.state_class is SensorStateClass.TOTAL:
            return _utc(self.coordinator.data.period_start)
        return None


class NilmMeterSensor(NilmEntity, SensorEntity):
    """A reading of the pushing meter; unknown until it sends that field."""

    entity_description: NilmMeterSensorDescription

    @property
    def native_value(self) -> float | None:
        """Return the field of the latest reading."""
        assert self.coordinator.meter is not None
        if (reading := self.coordinator.meter.latest) is None:
            return None
        return self.entity_description.value_fn(reading)


class NilmLastSeenSensor(NilmEntity, SensorEntity):
    """When the meter last pushed; stays available while the meter is silent, that is its point."""

    @property
    def available(self) -> bool:
        """Available once the meter has been seen."""
        assert self.coordinator.meter is not None
        return self.coordinator.meter.last_seen is not None

    @property
    def native_value(self) -> datetime | None:
        """Return the time of the last accepted push."""
        assert self.coordinator.meter is not None
        return self.coordinator.meter.last_seen


class NilmApplianceSensor(NilmApplianceEntity, SensorEntity):
    """An appliance's power or billing-period cost."""

    entity_description: NilmApplianceSensorDescription

    def __init__(
        self,
        coordinator: NilmCoordinator,
        description: NilmApplianceSensorDescription,
        appliance_id: str,
    ) -> None:
        """Monetary sensors use Home Assistant's currency."""
        super().__init__(coordinator, description, appliance_id)
        if description.monetary:
            self._attr_native_unit_of_measurement = coordinator.hass.config.currency

    @property
    def native_value(self) -> float | None:
        """Return the appliance's value."""
        if (appliance := self.appliance) is None:
            return None
        return self.entity_description.value_fn(appliance)

    @property
    def last_reset(self) -> datetime | None:
        """The cost restarts with each billing period."""
        if self.state_class is SensorStateClass.TOTAL:
            return _utc(self.coordinator.data.period_start)
        return None


class NilmApplianceEnergySensor(NilmApplianceEntity, RestoreSensor):
    """An appliance's energy in kWh; it never decreases, across restarts, merges and lost stores.

    The engine's counter is the source, but this sensor only ever adds the counter's increases to its own
    total, restored after a restart, so a store lost to corruption cannot send it back to zero.
    """

    entity_description: NilmApplianceSensorDescription
    _total = 0.0
    _last_counter = 0.0

    async def async_added_to_hass(self) -> None:
        """Restore the total; the engine's counter may be ahead if the restore data is older."""
        await super().async_added_to_hass()
        counter = self._counter()
        restored = 0.0
        last = await self.async_get_last_sensor_data()
        if last is not None and isinstance(last.native_value, int | float | Decimal):
            restored = float(last.native_value)
        self._total = max(restored, counter or 0.0)
        self._last_counter = counter or 0.0

    def _counter(self) -> float | None:
        appliance = self.appliance
        return None if appliance is None else self.entity_description.value_fn(appliance)

    @callback
    def _handle_coordinator_update(self) -> None:
        if (counter := self._counter()) is not None:
            if counter > self._last_counter:
                self._total += counter - self._last_counter
            self._last_counter = counter
        super()._handle_coordinator_update()

    @property
    def native_value(self) -> float:
        """Return the monotone total."""
        return round(self._total, 6)
