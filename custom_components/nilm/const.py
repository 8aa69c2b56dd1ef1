"""Constants of the NILM integration: domain, configuration keys and defaults."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "nilm"
# Where the integration serves its labeling card.
CARD_URL: Final = "/nilm_static/nilm-label-card.js"
LOGGER = logging.getLogger(__package__)

# Config entry data: where the whole-house power comes from.
CONF_SOURCE: Final = "source"
SOURCE_SENSOR: Final = "sensor"
SOURCE_METER: Final = "meter"
CONF_POWER_ENTITY: Final = "power_entity"
CONF_REACTIVE_POWER_ENTITY: Final = "reactive_power_entity"
CONF_CURRENT_ENTITY: Final = "current_entity"
CONF_VOLTAGE_ENTITY: Final = "voltage_entity"
CONF_POWER_FACTOR_ENTITY: Final = "power_factor_entity"
# Optional sensors beside the power sensor, in the order Sample takes them.
CONF_EXTRA_ENTITIES: Final = (
    CONF_REACTIVE_POWER_ENTITY,
    CONF_CURRENT_ENTITY,
    CONF_VOLTAGE_ENTITY,
    CONF_POWER_FACTOR_ENTITY,
)

# Config entry options: tunables that do not change the source.
CONF_EVENT_THRESHOLD: Final = "event_threshold_w"
CONF_CONFIDENCE_THRESHOLD: Final = "confidence_threshold"
CONF_PRICE_PER_KWH: Final = "price_per_kwh"
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_BILLING_DAY: Final = "billing_day"
CONF_CONTEXT_ENTITIES: Final = "context_entities"
CONF_MAX_PENDING_EVENTS: Final = "max_pending_events"
CONF_ALLOW_EXTERNAL: Final = "allow_external"
CONF_ROTATE_API_KEY: Final = "rotate_api_key"

DEFAULT_EVENT_THRESHOLD: Final = 30.0
DEFAULT_CONFIDENCE_THRESHOLD: Final = 0.4
DEFAULT_PRICE_PER_KWH: Final = 0.0
DEFAULT_BILLING_DAY: Final = 1
DEFAULT_MAX_PENDING_EVENTS: Final = 500
DEFAULT_METER_NAME: Final = "Energy meter"

# A meter that has not pushed for this long is considered lost.
METER_TIMEOUT: Final = timedelta(minutes=2)
# Without a confirmed event, entities are refreshed at most this often (sample time, seconds):
# a 1 Hz meter would otherwise write every appliance's state every second.
PUBLISH_INTERVAL_S: Final = 5.0
# Store writes are debounced; a stop or an unload flushes at once.
SAVE_DELAY_S: Final = 30.0
STORAGE_VERSION: Final = 1

EVENT_NILM: Final = "nilm_event"
EVENT_TYPE_ON: Final = "appliance_on"
EVENT_TYPE_OFF: Final = "appliance_off"
EVENT_TYPE_UNIDENTIFIED: Final = "unidentified"

ISSUE_SOURCE_REMOVED: Final = "source_removed"
ISSUE_CORRUPT_STORE: Final = "corrupt_store"
