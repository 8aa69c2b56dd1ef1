"""Actions: label, ignore and list events; create, rename, merge, delete and learn appliances."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import partial
from typing import Any, cast

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
from homeassistant.util import dt as dt_util
import probatio as vol

from .const import DOMAIN
from .coordinator import NilmConfigEntry, NilmCoordinator, describe_event, local_time
from .engine import Appliance, NilmError

ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_EVENT_ID = "event_id"
ATTR_GROUP_ID = "group_id"
ATTR_START = "start"
ATTR_END = "end"
ATTR_APPLIANCE = "appliance"
ATTR_STATE = "state"
ATTR_KIND = "kind"
ATTR_NAME = "name"
ATTR_SOURCE = "source"
ATTR_TARGET = "target"
ATTR_DURATION = "duration"

EVENT_KINDS = ("pending", "labeled", "all")

_ENTRY: dict[vol.Marker, Any] = {vol.Optional(ATTR_CONFIG_ENTRY_ID): cv.string}
_NAME = vol.All(cv.string, vol.Length(min=1, max=64))
SCHEMAS: dict[str, vol.Schema] = {
    "label_event": vol.Schema(
        {
            **_ENTRY,
            vol.Required(ATTR_EVENT_ID): cv.string,
            vol.Required(ATTR_APPLIANCE): _NAME,
            vol.Optional(ATTR_STATE): _NAME,
        }
    ),
    "label_group": vol.Schema(
        {
            **_ENTRY,
            vol.Required(ATTR_GROUP_ID): cv.string,
            vol.Required(ATTR_APPLIANCE): _NAME,
            vol.Optional(ATTR_STATE): _NAME,
            vol.Optional(ATTR_START): cv.datetime,
            vol.Optional(ATTR_END): cv.datetime,
        }
    ),
    "ignore_event": vol.Schema({**_ENTRY, vol.Required(ATTR_EVENT_ID): cv.string}),
    "list_events": vol.Schema(
        {**_ENTRY, vol.Optional(ATTR_KIND, default="pending"): vol.In(EVENT_KINDS)}
    ),
    "create_appliance": vol.Schema({**_ENTRY, vol.Required(ATTR_NAME): _NAME}),
    "rename_appliance": vol.Schema(
        {**_ENTRY, vol.Required(ATTR_APPLIANCE): cv.string, vol.Required(ATTR_NAME): _NAME}
    ),
    "merge_appliances": vol.Schema(
        {**_ENTRY, vol.Required(ATTR_SOURCE): cv.string, vol.Required(ATTR_TARGET): cv.string}
    ),
    "delete_appliance": vol.Schema({**_ENTRY, vol.Required(ATTR_APPLIANCE): cv.string}),
    "learn_appliance": vol.Schema(
        {
            **_ENTRY,
            vol.Required(ATTR_APPLIANCE): _NAME,
            vol.Optional(ATTR_STATE): _NAME,
            vol.Optional(ATTR_DURATION, default=120): vol.All(
                vol.Coerce(int), vol.Range(min=10, max=3600)
            ),
        }
    ),
}


def _coordinator(call: ServiceCall) -> NilmCoordinator:
    """The loaded entry the call targets (the only one when the call names none)."""
    entry = service.async_get_config_entry(call.hass, DOMAIN, call.data.get(ATTR_CONFIG_ENTRY_ID))
    return cast(NilmConfigEntry, entry).runtime_data


def _appliance(coordinator: NilmCoordinator, ref: str) -> Appliance:
    """An existing appliance by id or name, or a translated error."""
    if (appliance := coordinator.appliance_by_ref(ref)) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_appliance",
            translation_placeholders={"error": ref},
        )
    return appliance


async def _run[R](coordinator: NilmCoordinator, func: Callable[..., R], *args: Any) -> R:
    """Run an engine operation; its errors become translated validation errors."""
    try:
        return await coordinator.async_run(func, *args)
    except NilmError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=err.key,
            translation_placeholders={"error": str(err)},
        ) from err


async def _label_event(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    await _run(
        coordinator,
        coordinator.engine.label_event,
        call.data[ATTR_EVENT_ID],
        call.data[ATTR_APPLIANCE],
        call.data.get(ATTR_STATE),
    )


async def _label_group(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    count = await _run(
        coordinator,
        coordinator.engine.label_group,
        call.data[ATTR_GROUP_ID],
        call.data[ATTR_APPLIANCE],
        call.data.get(ATTR_STATE),
        *(_timestamp(call.data.get(key)) for key in (ATTR_START, ATTR_END)),
    )
    return {"labeled": count}


def _timestamp(value: datetime | None) -> float | None:
    """A time the user gave as Unix time; one without a zone is in Home Assistant's (as `as_utc` reads it)."""
    return None if value is None else dt_util.as_utc(value).timestamp()


async def _ignore_event(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    await _run(coordinator, coordinator.engine.ignore_event, call.data[ATTR_EVENT_ID])


async def _list_events(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    kind = call.data[ATTR_KIND]
    events, groups = await _run(
        coordinator, lambda: (coordinator.engine.events(kind), coordinator.engine.groups())
    )
    response: dict[str, Any] = {
        "events": [describe_event(e, coordinator.data.appliances) for e in events],
        # The names a label may use, for a labeling UI's choices.
        "appliances": sorted(a.name for a in coordinator.data.appliances.values()),
    }
    if kind != "labeled":
        response["groups"] = [
            {
                "group_id": group.id,
                "step": round(group.mean_dp, 1),
                "reactive_step": None if group.mean_dq is None else round(group.mean_dq, 1),
                "count": group.count,
                "first_time": local_time(group.first_t),
                "last_time": local_time(group.last_t),
                "event_ids": list(group.event_ids),
            }
            for group in groups
        ]
    return response


async def _create_appliance(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call)
    appliance = await _run(coordinator, coordinator.engine.create_appliance, call.data[ATTR_NAME])
    return {"appliance_id": appliance.id, "name": appliance.name}


async def _rename_appliance(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    appliance = _appliance(coordinator, call.data[ATTR_APPLIANCE])
    await _run(coordinator, coordinator.engine.rename_appliance, appliance.id, call.data[ATTR_NAME])


async def _merge_appliances(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    source = _appliance(coordinator, call.data[ATTR_SOURCE])
    target = _appliance(coordinator, call.data[ATTR_TARGET])
    if source.id == target.id:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="merge_same_appliance",
            translation_placeholders={"appliance": source.name},
        )
    await _run(coordinator, coordinator.engine.merge_appliances, source.id, target.id)


async def _delete_appliance(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    appliance = _appliance(coordinator, call.data[ATTR_APPLIANCE])
    await _run(coordinator, coordinator.engine.delete_appliance, appliance.id)


async def _learn_appliance(call: ServiceCall) -> None:
    coordinator = _coordinator(call)
    await _run(
        coordinator,
        partial(
            coordinator.engine.start_learning,
            call.data[ATTR_APPLIANCE],
            call.data.get(ATTR_STATE),
            duration_s=float(call.data[ATTR_DURATION]),
            now=dt_util.utcnow().timestamp(),
        ),
    )


type Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]

HANDLERS: dict[str, tuple[Handler, SupportsResponse]] = {
    "label_event": (_label_event, SupportsResponse.NONE),
    "label_group": (_label_group, SupportsResponse.OPTIONAL),
    "ignore_event": (_ignore_event, SupportsResponse.NONE),
    "list_events": (_list_events, SupportsResponse.ONLY),
    "create_appliance": (_create_appliance, SupportsResponse.OPTIONAL),
    "rename_appliance": (_rename_appliance, SupportsResponse.NONE),
    "merge_appliances": (_merge_appliances, SupportsResponse.NONE),
    "delete_appliance": (_delete_appliance, SupportsResponse.NONE),
    "learn_appliance": (_learn_appliance, SupportsResponse.NONE),
}


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, from async_setup)."""
    for name, (handler, supports_response) in HANDLERS.items():
        hass.services.async_register(
            DOMAIN, name, handler, schema=SCHEMAS[name], supports_response=supports_response
        )
