"""Sources: sensor states and reports become Samples in base units; availability is reported."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.nilm.const import (
    CONF_CURRENT_ENTITY,
    CONF_POWER_ENTITY,
    CONF_POWER_FACTOR_ENTITY,
    CONF_REACTIVE_POWER_ENTITY,
    CONF_VOLTAGE_ENTITY,
)
from custom_components.nilm.engine import Sample
from custom_components.nilm.meter import MeterInfo, MeterReading
from custom_components.nilm.source import MeterSource, SensorSource, SourceStatus

DATA = {
    CONF_POWER_ENTITY: "sensor.power",
    CONF_REACTIVE_POWER_ENTITY: "sensor.reactive",
    CONF_CURRENT_ENTITY: "sensor.current",
    CONF_VOLTAGE_ENTITY: "sensor.voltage",
    CONF_POWER_FACTOR_ENTITY: "sensor.pf",
}


class Recorder:
    """Collects what a source reports."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.statuses: list[SourceStatus] = []

    def on_samples(self, samples: list[Sample]) -> None:
        self.samples.extend(samples)

    def on_status(self, status: SourceStatus) -> None:
        self.statuses.append(status)


def _set(hass: HomeAssistant, entity_id: str, state: str, unit: str | None) -> None:
    hass.states.async_set(entity_id, state, {} if unit is None else {"unit_of_measurement": unit})


async def test_sensor_source_units_and_reports(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """kW, kvar, mA and % are converted; a repeated value is still a sample at its report time."""
    _set(hass, "sensor.power", "0.5", "kW")
    _set(hass, "sensor.reactive", "0.1", "kvar")
    _set(hass, "sensor.current", "2500", "mA")
    _set(hass, "sensor.voltage", "230", "V")
    _set(hass, "sensor.pf", "90", "%")
    recorder = Recorder()
    source = SensorSource(hass, DATA, recorder.on_samples, recorder.on_status)
    unsubscribe = source.async_start()

    freezer.tick(1)
    _set(hass, "sensor.power", "0.5", "kW")  # unchanged: a state report
    freezer.tick(1)
    _set(hass, "sensor.voltage", "231", "V")
    _set(hass, "sensor.power", "0.75", "kW")
    await hass.async_block_till_done()

    start = recorder.samples[0].t
    assert [(s.t - start, s.p) for s in recorder.samples] == [
        (0.0, 500.0),
        (1.0, 500.0),
        (2.0, 750.0),
    ]
    last = recorder.samples[-1]
    assert (last.q, last.i, last.v, last.pf) == (100.0, 2.5, 231.0, 0.9)
    assert recorder.statuses == [SourceStatus.AVAILABLE] * 3

    unsubscribe()
    _set(hass, "sensor.power", "1", "kW")
    await hass.async_block_till_done()
    assert len(recorder.samples) == 3


async def test_sensor_source_unavailable_extra_is_none(hass: HomeAssistant) -> None:
    """An unavailable optional sensor leaves its field empty instead of stopping the source."""
    _set(hass, "sensor.power", "100", "W")
    _set(hass, "sensor.voltage", "unavailable", "V")
    recorder = Recorder()
    SensorSource(
        hass,
        {CONF_POWER_ENTITY: "sensor.power", CONF_VOLTAGE_ENTITY: "sensor.voltage"},
        recorder.on_samples,
        recorder.on_status,
    ).async_start()

    assert recorder.samples[0].p == 100.0
    assert recorder.samples[0].v is None


async def test_sensor_source_bad_unit(hass: HomeAssistant) -> None:
    """A power sensor whose unit changed to one we cannot convert is unavailable, not misread."""
    _set(hass, "sensor.power", "100", "kWh")
    recorder = Recorder()
    SensorSource(hass, DATA, recorder.on_samples, recorder.on_status).async_start()

    assert recorder.samples == []
    assert recorder.statuses == [SourceStatus.UNAVAILABLE]


async def test_meter_source_empty_batch_counts_as_seen(hass: HomeAssistant) -> None:
    """A batch of duplicates only proves the meter is alive; no sample, no status change."""
    recorder = Recorder()
    source = MeterSource(hass, recorder.on_samples, recorder.on_status)
    unsubscribe: Any = source.async_start()

    source.async_on_readings(MeterInfo("m", None), [])

    assert source.last_seen is not None
    assert recorder.samples == []
    assert recorder.statuses == [SourceStatus.UNAVAILABLE]
    source.async_on_readings(
        MeterInfo("m", None), [MeterReading(t=dt_util.utcnow().timestamp(), p=10.0)]
    )
    assert recorder.statuses[-1] is SourceStatus.AVAILABLE
    assert recorder.samples[0].p == 10.0
    unsubscribe()
