"""The NILM integration seen from outside a running Home Assistant.

Its config entry, meter credentials, appliance entities, labeling and the Energy dashboard, all through the
public REST and WebSocket APIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
import urllib.parse

from .hass_api import HassApiError, HassClient

DOMAIN = "nilm"


@dataclass(frozen=True, slots=True)
class MeterEntry:
    """A meter-source config entry and what a meter needs to push to it."""

    entry_id: str
    title: str
    webhook_url: str
    api_key: str


@dataclass(frozen=True, slots=True)
class ApplianceEntities:
    """The entities of one appliance device."""

    device_id: str
    name: str
    running: str
    power: str | None
    energy: str | None


def create_meter_entry(client: HassClient, name: str) -> MeterEntry:
    """Add a meter source through the config flow, as a user clicking through the dialog does."""
    result = client.run_flow(
        "config", DOMAIN, {"user": "meter", "meter": {"name": name}, "meter_settings": {}}
    )
    if result["type"] != "create_entry":
        raise HassApiError(f"config flow ended with {result['type']}: {result.get('reason')}")
    return meter_entry(client, result["result"]["entry_id"])


def meter_entry(client: HassClient, entry_id: str) -> MeterEntry:
    """A meter entry's push URL and key, read from its options dialog (which shows them) and closed again.

    The options dialog is where a user finds them too, and it reflects a key rotated from the UI.
    """
    form = client.request("POST", "/api/config/config_entries/options/flow", {"handler": entry_id})
    try:
        placeholders = form.get("description_placeholders") or {}
        if "url" not in placeholders or "api_key" not in placeholders:
            raise HassApiError(f"entry {entry_id}: the options dialog shows no meter URL and key")
    finally:
        client.abort_flow("options", form["flow_id"])
    webhook_id = urllib.parse.urlsplit(placeholders["url"]).path.rstrip("/").rsplit("/", 1)[-1]
    title = next(
        (e["title"] for e in client.config_entries(DOMAIN) if e["entry_id"] == entry_id), DOMAIN
    )
    return MeterEntry(
        entry_id=entry_id,
        title=title,
        webhook_url=f"{client.base_url}/api/webhook/{webhook_id}",
        api_key=placeholders["api_key"],
    )


def list_events(client: HassClient, entry_id: str, kind: str = "pending") -> dict[str, Any]:
    """The `nilm.list_events` action's response: events (and groups of similar unidentified ones)."""
    return cast(
        dict[str, Any],
        client.call_service(
            DOMAIN, "list_events", {"config_entry_id": entry_id, "kind": kind}, return_response=True
        ),
    )


def label_event(
    client: HassClient, entry_id: str, event_id: str, appliance: str, state: str | None = None
) -> None:
    """Label one event with an appliance (existing or new name), as the `nilm.label_event` action."""
    data = {"config_entry_id": entry_id, "event_id": event_id, "appliance": appliance}
    if state is not None:
        data["state"] = state
    client.call_service(DOMAIN, "label_event", data)


def appliance_entities(client: HassClient, entry_id: str) -> list[ApplianceEntities]:
    """Every appliance device of the entry with its running, power and energy entities.

    An appliance device is one with a running binary sensor; power and energy are told apart by device class,
    so nothing here depends on how the integration builds its unique ids.
    """
    return _entry_view(client, entry_id)[0]


def grid_sensors(client: HassClient, entry_id: str) -> tuple[str | None, str | None]:
    """The meter's measured energy and power sensors (on the hub device), if the entry has a meter.

    Measured sensors are named by their device class; the hub's derived ones (unidentified power, ...) carry a
    translation key.
    """
    return _entry_view(client, entry_id)[1]


def _entry_view(
    client: HassClient, entry_id: str
) -> tuple[list[ApplianceEntities], tuple[str | None, str | None]]:
    registry, devices = client.ws(
        {"type": "config/entity_registry/list"}, {"type": "config/device_registry/list"}
    )
    names = {d["id"]: d.get("name_by_user") or d.get("name") or d["id"] for d in devices}
    classes = {
        s["entity_id"]: s["attributes"].get("device_class")
        for s in client.states()
        if s["entity_id"].startswith("sensor.")
    }
    by_device: dict[str, list[dict[str, Any]]] = {}
    for entity in registry:
        if entity.get("config_entry_id") == entry_id and entity.get("device_id"):
            by_device.setdefault(entity["device_id"], []).append(entity)

    def first(
        entities: list[dict[str, Any]], device_class: str, *, measured: bool = False
    ) -> str | None:
        found = sorted(
            e["entity_id"]
            for e in entities
            if classes.get(e["entity_id"]) == device_class
            and not (measured and e.get("translation_key"))
        )
        return found[0] if found else None

    appliances: list[ApplianceEntities] = []
    others: list[dict[str, Any]] = []
    for device_id, entities in by_device.items():
        running = sorted(
            e["entity_id"] for e in entities if e["entity_id"].startswith("binary_sensor.")
        )
        if not running:
            others.extend(entities)
            continue
        appliances.append(
            ApplianceEntities(
                device_id=device_id,
                name=names.get(device_id, device_id),
                running=running[0],
                power=first(entities, "power"),
                energy=first(entities, "energy"),
            )
        )
    grid = (first(others, "energy", measured=True), first(others, "power", measured=True))
    return sorted(appliances, key=lambda a: a.name), grid


def seed_energy_dashboard(client: HassClient, entry_id: str) -> dict[str, Any]:
    """Select every appliance as an individual device of the Energy dashboard.

    Each appliance's power sensor becomes the device's power, and the meter's energy the grid consumption
    when the entry has one. Devices and sources set up otherwise are kept.
    """
    try:
        prefs = client.ws_command("energy/get_prefs")
    except HassApiError as err:
        if err.code != "not_found":  # nothing saved yet
            raise
        prefs = {}
    all_appliances, (grid_energy, grid_power) = _entry_view(client, entry_id)
    appliances = [a for a in all_appliances if a.energy]
    ours = {a.energy for a in appliances}
    devices = [d for d in prefs.get("device_consumption", []) if d["stat_consumption"] not in ours]
    for appliance in appliances:
        device: dict[str, Any] = {"stat_consumption": appliance.energy, "name": appliance.name}
        if appliance.power:
            device["stat_rate"] = appliance.power
        devices.append(device)
    sources = list(prefs.get("energy_sources", []))
    if grid_energy and not any(s.get("stat_energy_from") == grid_energy for s in sources):
        grid: dict[str, Any] = {
            "type": "grid",
            "stat_energy_from": grid_energy,
            "cost_adjustment_day": 0,
        }
        if grid_power:
            grid["stat_rate"] = grid_power
        sources.append(grid)
    return cast(
        dict[str, Any],
        client.ws_command("energy/save_prefs", energy_sources=sources, device_consumption=devices),
    )
