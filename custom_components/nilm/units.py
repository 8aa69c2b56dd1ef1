"""Unit handling for source sensors: which units each quantity accepts and their scale to base units."""

from __future__ import annotations

from enum import StrEnum
import math
from typing import Final

from homeassistant.const import (
    PERCENTAGE,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfPower,
    UnitOfReactivePower,
)

from .const import (
    CONF_CURRENT_ENTITY,
    CONF_POWER_ENTITY,
    CONF_POWER_FACTOR_ENTITY,
    CONF_REACTIVE_POWER_ENTITY,
    CONF_VOLTAGE_ENTITY,
)


class Quantity(StrEnum):
    """A quantity a source sensor can measure, as the engine's Sample field names it."""

    P = "p"
    Q = "q"
    I = "i"  # noqa: E741 - the Sample field name
    V = "v"
    PF = "pf"


# Factor from each accepted unit to the engine's base unit (W, var, A, V, ratio 0..1).
SCALES: Final[dict[Quantity, dict[str | None, float]]] = {
    Quantity.P: {UnitOfPower.WATT: 1.0, UnitOfPower.KILO_WATT: 1000.0},
    Quantity.Q: {
        UnitOfReactivePower.VOLT_AMPERE_REACTIVE: 1.0,
        UnitOfReactivePower.KILO_VOLT_AMPERE_REACTIVE: 1000.0,
    },
    Quantity.I: {
        UnitOfElectricCurrent.AMPERE: 1.0,
        UnitOfElectricCurrent.MILLIAMPERE: 0.001,
    },
    Quantity.V: {UnitOfElectricPotential.VOLT: 1.0},
    Quantity.PF: {None: 1.0, PERCENTAGE: 0.01},
}


def unit_scale(quantity: Quantity, unit: str | None) -> float | None:
    """Return the factor to base units, or None when the unit is not accepted."""
    return SCALES[quantity].get(unit)


def parse_value(state: str, quantity: Quantity, unit: str | None) -> float | None:
    """Return a state string in base units, or None when it is not a finite number in a known unit."""
    scale = unit_scale(quantity, unit)
    if scale is None:
        return None
    try:
        value = float(state)
    except ValueError:
        return None
    return value * scale if math.isfinite(value) else None


# Which quantity each source-sensor option of a config entry measures.
SOURCE_QUANTITIES: Final[dict[str, Quantity]] = {
    CONF_POWER_ENTITY: Quantity.P,
    CONF_REACTIVE_POWER_ENTITY: Quantity.Q,
    CONF_CURRENT_ENTITY: Quantity.I,
    CONF_VOLTAGE_ENTITY: Quantity.V,
    CONF_POWER_FACTOR_ENTITY: Quantity.PF,
}
