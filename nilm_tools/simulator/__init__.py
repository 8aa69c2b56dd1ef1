"""Meter simulator: a synthetic household or a NILM-CSV replay, pushed like the firmware or to an HA sensor.

Library use::

    trace = Household(seed=1).simulate(start, 3600)          # meter columns + trace.truth per appliance
    async with MeterClient(url, key) as meter:
        report = await meter.push(trace.samples())
"""

from .client import Backoff, DeliveryError, MeterAuthError, MeterClient, PushReport
from .ha_sensor import SensorAuthError, SensorClient
from .household import (
    ApplianceModel,
    ElectronicLoad,
    Household,
    HouseholdTrace,
    Motor,
    Phase,
    Programme,
    ResistiveLoad,
    ThermostaticMotor,
    default_appliances,
)
from .playback import play
from .replay import CsvFormatError, replay_samples
from .sample import MeterSample

__all__ = [
    "ApplianceModel",
    "Backoff",
    "CsvFormatError",
    "DeliveryError",
    "ElectronicLoad",
    "Household",
    "HouseholdTrace",
    "MeterAuthError",
    "MeterClient",
    "MeterSample",
    "Motor",
    "Phase",
    "Programme",
    "PushReport",
    "ResistiveLoad",
    "SensorAuthError",
    "SensorClient",
    "ThermostaticMotor",
    "default_appliances",
    "play",
    "replay_samples",
]
