"""Fixtures for the NILM integration tests, in the style of Home Assistant core."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from unittest.mock import AsyncMock, PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import Event, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

# Import once before any hass fixture runs, so `custom_components.nilm` resolves to this repository and
# not to the testing_config that pytest-homeassistant-custom-component puts on the path.
import custom_components.nilm  # noqa: F401
from custom_components.nilm.const import (
    CONF_POWER_ENTITY,
    CONF_SOURCE,
    DOMAIN,
    SOURCE_SENSOR,
)

POWER_ENTITY = "sensor.house_power"
POWER_ATTRIBUTES = {
    "unit_of_measurement": "W",
    "device_class": "power",
    "friendly_name": "House power",
}

type Feed = Callable[[Sequence[float | str]], Awaitable[None]]
ENTRY_ID = "01JNILM0TESTENTRY000000000"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom integrations in every test."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's format, in tests/snapshots/."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Enable entities that are disabled by default, for snapshots of every entity."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep the config flow tests from setting the entry up."""
    with patch("custom_components.nilm.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A sensor-source entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="House power",
        entry_id=ENTRY_ID,
        unique_id=POWER_ENTITY,
        data={CONF_SOURCE: SOURCE_SENSOR, CONF_POWER_ENTITY: POWER_ENTITY},
        options={},
    )


@pytest.fixture
def power_sensor(hass: HomeAssistant) -> str:
    """The whole-house power sensor the entry reads."""
    hass.states.async_set(POWER_ENTITY, "150", POWER_ATTRIBUTES)
    return POWER_ENTITY


@pytest.fixture
def feed(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> Feed:
    """Write power readings to the source sensor, one per second (a repeated value is a state report)."""

    async def _feed(values: Sequence[float | str]) -> None:
        for value in values:
            freezer.tick(1)
            hass.states.async_set(POWER_ENTITY, str(value), POWER_ATTRIBUTES)
        await hass.async_block_till_done()

    return _feed


@pytest.fixture
def nilm_events(hass: HomeAssistant) -> list[Event]:
    """The nilm_event bus events fired during the test."""
    return async_capture_events(hass, "nilm_event")


@pytest.fixture
def platforms() -> list[Platform]:
    """The platforms to load; tests of one platform override this."""
    return [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR]


type SetUp = Callable[[MockConfigEntry], Awaitable[None]]


@pytest.fixture
def setup_entry(hass: HomeAssistant, platforms: list[Platform]) -> Generator[SetUp]:
    """Set an entry up with only the test's platforms."""

    async def _setup(entry: MockConfigEntry) -> None:
        if hass.config_entries.async_get_entry(entry.entry_id) is None:
            entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()

    with patch("custom_components.nilm.PLATFORMS", platforms):
        yield _setup


@pytest.fixture
async def init_integration(
    mock_config_entry: MockConfigEntry, power_sensor: str, setup_entry: SetUp
) -> MockConfigEntry:
    """Set up the sensor-source entry with its source sensor present."""
    await setup_entry(mock_config_entry)
    return mock_config_entry
