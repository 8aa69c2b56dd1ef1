"""Config flow for NILM: pick a power source (an existing sensor or a pushing meter) and tune options."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from homeassistant.components import webhook
from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY, CONF_NAME, CONF_WEBHOOK_ID, UnitOfPower
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)
from homeassistant.util import slugify
import probatio as vol

from .const import (
    CONF_ALLOW_EXTERNAL,
    CONF_BILLING_DAY,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_CONTEXT_ENTITIES,
    CONF_CURRENT_ENTITY,
    CONF_EVENT_THRESHOLD,
    CONF_EXTRA_ENTITIES,
    CONF_MAX_PENDING_EVENTS,
    CONF_POWER_ENTITY,
    CONF_POWER_FACTOR_ENTITY,
    CONF_PRICE_ENTITY,
    CONF_PRICE_PER_KWH,
    CONF_REACTIVE_POWER_ENTITY,
    CONF_ROTATE_API_KEY,
    CONF_SOURCE,
    CONF_VOLTAGE_ENTITY,
    DEFAULT_BILLING_DAY,
    DEFAULT_CONFIDENCE_THRESHOLD,
    DEFAULT_EVENT_THRESHOLD,
    DEFAULT_MAX_PENDING_EVENTS,
    DEFAULT_METER_NAME,
    DEFAULT_PRICE_PER_KWH,
    DOMAIN,
    SOURCE_METER,
    SOURCE_SENSOR,
)
from .units import SOURCE_QUANTITIES, parse_value, unit_scale

if TYPE_CHECKING:
    from .coordinator import NilmConfigEntry

_DEVICE_CLASSES: dict[str, SensorDeviceClass] = {
    CONF_POWER_ENTITY: SensorDeviceClass.POWER,
    CONF_REACTIVE_POWER_ENTITY: SensorDeviceClass.REACTIVE_POWER,
    CONF_CURRENT_ENTITY: SensorDeviceClass.CURRENT,
    CONF_VOLTAGE_ENTITY: SensorDeviceClass.VOLTAGE,
    CONF_POWER_FACTOR_ENTITY: SensorDeviceClass.POWER_FACTOR,
}


def _sensor_selector(key: str) -> EntitySelector:
    return EntitySelector(EntitySelectorConfig(domain="sensor", device_class=_DEVICE_CLASSES[key]))


_SENSOR_FIELDS: dict[vol.Marker, Any] = {
    vol.Required(CONF_POWER_ENTITY): _sensor_selector(CONF_POWER_ENTITY),
    **{vol.Optional(key): _sensor_selector(key) for key in CONF_EXTRA_ENTITIES},
}
SENSOR_SCHEMA = vol.Schema(_SENSOR_FIELDS)
METER_SCHEMA = vol.Schema({vol.Required(CONF_NAME, default=DEFAULT_METER_NAME): TextSelector()})


def validate_source_sensors(hass: HomeAssistant, user_input: dict[str, Any]) -> dict[str, str]:
    """Check each chosen sensor exists, is numeric now and uses a unit we can convert."""
    errors: dict[str, str] = {}
    for key, quantity in SOURCE_QUANTITIES.items():
        if not (entity_id := user_input.get(key)):
            continue
        if (state := hass.states.get(entity_id)) is None:
            errors[key] = "entity_not_found"
            continue
        unit = state.attributes.get("unit_of_measurement")
        if unit_scale(quantity, unit) is None:
            errors[key] = "unsupported_unit"
        elif parse_value(state.state, quantity, unit) is None:
            errors[key] = "not_numeric"
    return errors


def sensor_source_data(user_input: dict[str, Any]) -> dict[str, Any]:
    """Entry data of a sensor source: the chosen entities only, empty optional fields dropped."""
    return {
        CONF_SOURCE: SOURCE_SENSOR,
        **{key: user_input[key] for key in SOURCE_QUANTITIES if user_input.get(key)},
    }


def meter_unique_id(name: str) -> str:
    """Unique id of a meter source: its name, so the same meter cannot be added twice."""
    return f"{SOURCE_METER}_{slugify(name)}"


def meter_placeholders(hass: HomeAssistant, data: dict[str, Any]) -> dict[str, str]:
    """What the user pastes into the meter's firmware: the push URL and the API key."""
    try:
        url = webhook.async_generate_url(hass, data[CONF_WEBHOOK_ID])
    except NoURLAvailableError:
        # No URL configured yet: give the path; the user prefixes the address of Home Assistant.
        url = webhook.async_generate_path(data[CONF_WEBHOOK_ID])
    return {"url": url, "api_key": data[CONF_API_KEY]}


def new_meter_data() -> dict[str, Any]:
    """Entry data of a meter source with a fresh webhook id and API key."""
    return {
        CONF_SOURCE: SOURCE_METER,
        CONF_WEBHOOK_ID: webhook.async_generate_id(),
        CONF_API_KEY: secrets.token_urlsafe(32),
    }


class NilmConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a NILM source."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with no meter generated yet."""
        self._meter_name = DEFAULT_METER_NAME
        self._meter_data: dict[str, Any] = {}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: NilmConfigEntry) -> NilmOptionsFlow:
        """Return the options flow."""
        return NilmOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask where the whole-house power comes from."""
        return self.async_show_menu(step_id="user", menu_options=[SOURCE_SENSOR, SOURCE_METER])

    async def async_step_sensor(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Use existing Home Assistant sensors as the source."""
        errors: dict[str, str] = {}
        if user_input is not None and not (
            errors := validate_source_sensors(self.hass, user_input)
        ):
            await self.async_set_unique_id(user_input[CONF_POWER_ENTITY])
            self._abort_if_unique_id_configured()
            state = self.hass.states.get(user_input[CONF_POWER_ENTITY])
            assert state is not None  # validated above
            return self.async_create_entry(title=state.name, data=sensor_source_data(user_input))
        return self.async_show_form(
            step_id="sensor",
            data_schema=self.add_suggested_values_to_schema(SENSOR_SCHEMA, user_input),
            errors=errors,
            description_placeholders={"units": f"{UnitOfPower.WATT}, {UnitOfPower.KILO_WATT}"},
        )

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Use an ESP32 meter that pushes its readings over HTTP."""
        if user_input is not None:
            self._meter_name = user_input[CONF_NAME].strip() or DEFAULT_METER_NAME
            await self.async_set_unique_id(meter_unique_id(self._meter_name))
            self._abort_if_unique_id_configured()
            self._meter_data = new_meter_data()
            return await self.async_step_meter_settings()
        return self.async_show_form(step_id="meter", data_schema=METER_SCHEMA)

    async def async_step_meter_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the URL and key to paste into the firmware before creating the entry."""
        if user_input is not None:
            return self.async_create_entry(title=self._meter_name, data=self._meter_data)
        return self.async_show_form(
            step_id="meter_settings",
            description_placeholders=meter_placeholders(self.hass, self._meter_data),
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the source of an existing entry; appliances and history stay."""
        return self.async_show_menu(
            step_id="reconfigure", menu_options=["reconfigure_sensor", "reconfigure_meter"]
        )

    async def async_step_reconfigure_sensor(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Switch to (or change) sensor sources."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None and not (
            errors := validate_source_sensors(self.hass, user_input)
        ):
            await self._async_claim_unique_id(user_input[CONF_POWER_ENTITY])
            return self.async_update_reload_and_abort(
                entry, unique_id=user_input[CONF_POWER_ENTITY], data=sensor_source_data(user_input)
            )
        return self.async_show_form(
            step_id="reconfigure_sensor",
            data_schema=self.add_suggested_values_to_schema(
                SENSOR_SCHEMA, user_input or entry.data
            ),
            errors=errors,
        )

    async def async_step_reconfigure_meter(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Switch to (or rename) a pushing meter; an existing webhook and key are kept."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            name = user_input[CONF_NAME].strip() or DEFAULT_METER_NAME
            await self._async_claim_unique_id(meter_unique_id(name))
            data = dict(entry.data) if entry.data[CONF_SOURCE] == SOURCE_METER else new_meter_data()
            return self.async_update_reload_and_abort(
                entry, unique_id=meter_unique_id(name), title=name, data=data
            )
        return self.async_show_form(
            step_id="reconfigure_meter",
            data_schema=self.add_suggested_values_to_schema(METER_SCHEMA, {CONF_NAME: entry.title}),
        )

    async def _async_claim_unique_id(self, unique_id: str) -> None:
        """Abort when another entry already uses this source."""
        if unique_id != self._get_reconfigure_entry().unique_id:
            await self.async_set_unique_id(unique_id)
            self._abort_if_unique_id_configured()


def options_schema(source: str) -> vol.Schema:
    """Options of an entry; a meter source adds its network settings."""
    schema: dict[vol.Marker, Any] = {
        vol.Required(CONF_EVENT_THRESHOLD, default=DEFAULT_EVENT_THRESHOLD): NumberSelector(
            NumberSelectorConfig(
                min=5, max=2000, step=1, unit_of_measurement="W", mode=NumberSelectorMode.BOX
            )
        ),
        vol.Required(
            CONF_CONFIDENCE_THRESHOLD, default=DEFAULT_CONFIDENCE_THRESHOLD
        ): NumberSelector(NumberSelectorConfig(min=0.05, max=0.99, step=0.01)),
        vol.Required(CONF_PRICE_PER_KWH, default=DEFAULT_PRICE_PER_KWH): NumberSelector(
            NumberSelectorConfig(min=0, max=100, step="any", mode=NumberSelectorMode.BOX)
        ),
        vol.Optional(CONF_PRICE_ENTITY): EntitySelector(
            EntitySelectorConfig(domain=["sensor", "input_number"])
        ),
        vol.Required(CONF_BILLING_DAY, default=DEFAULT_BILLING_DAY): NumberSelector(
            NumberSelectorConfig(min=1, max=28, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Optional(CONF_CONTEXT_ENTITIES): EntitySelector(
            EntitySelectorConfig(domain="sensor", multiple=True)
        ),
        vol.Required(CONF_MAX_PENDING_EVENTS, default=DEFAULT_MAX_PENDING_EVENTS): NumberSelector(
            NumberSelectorConfig(min=10, max=5000, step=10, mode=NumberSelectorMode.BOX)
        ),
    }
    if source == SOURCE_METER:
        schema[vol.Required(CONF_ALLOW_EXTERNAL, default=False)] = BooleanSelector()
        schema[vol.Required(CONF_ROTATE_API_KEY, default=False)] = BooleanSelector()
    return vol.Schema(schema)


class NilmOptionsFlow(OptionsFlowWithReload):
    """Tune detection, prices and the meter's network access; the entry reloads on change."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options; a meter entry gets its own step that also shows its URL and key."""
        if self.config_entry.data[CONF_SOURCE] == SOURCE_METER:
            return await self.async_step_meter(user_input)
        return self._async_options_step("init", user_input)

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Options of a meter entry; rotating the key invalidates the old one at once."""
        if user_input is not None and user_input.pop(CONF_ROTATE_API_KEY):
            self.hass.config_entries.async_update_entry(
                self.config_entry,
                data={**self.config_entry.data, CONF_API_KEY: secrets.token_urlsafe(32)},
            )
            # A changed key alone leaves the options unchanged, so ask for the reload here.
            self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)
        return self._async_options_step("meter", user_input)

    def _async_options_step(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_create_entry(data=_normalise_options(user_input))
        source = self.config_entry.data[CONF_SOURCE]
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                options_schema(source), self.config_entry.options
            ),
            description_placeholders=(
                meter_placeholders(self.hass, dict(self.config_entry.data))
                if source == SOURCE_METER
                else None
            ),
        )


def _normalise_options(user_input: dict[str, Any]) -> dict[str, Any]:
    """Number selectors return floats; counts and days are integers."""
    options = dict(user_input)
    options[CONF_BILLING_DAY] = int(options[CONF_BILLING_DAY])
    options[CONF_MAX_PENDING_EVENTS] = int(options[CONF_MAX_PENDING_EVENTS])
    return options
