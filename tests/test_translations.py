"""Translations: German mirrors English; services and flow fields are all described."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest
import yaml

from custom_components.nilm.config_flow import METER_SCHEMA, SENSOR_SCHEMA, options_schema

INTEGRATION = Path(__file__).resolve().parents[1] / "custom_components" / "nilm"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((INTEGRATION / "translations" / name).read_text(encoding="utf-8")))


def _leaves(node: Any, path: str = "") -> dict[str, str]:
    if isinstance(node, dict):
        return {
            k: v for key, child in node.items() for k, v in _leaves(child, f"{path}/{key}").items()
        }
    return {path: node}


@pytest.mark.parametrize("language", ["de.json"])
def test_translation_mirrors_english(language: str) -> None:
    """Same keys, same placeholders, and no English text left untranslated where it matters."""
    english, other = _leaves(_load("en.json")), _leaves(_load(language))

    assert other.keys() == english.keys()
    for key, text in english.items():
        assert set(PLACEHOLDER.findall(other[key])) == set(PLACEHOLDER.findall(text)), key


def test_every_action_and_field_is_translated() -> None:
    """Each action in services.yaml has a name, a description and translated fields."""
    services = yaml.safe_load((INTEGRATION / "services.yaml").read_text(encoding="utf-8"))
    translated = _load("en.json")["services"]

    assert translated.keys() == services.keys()
    for name, service in services.items():
        assert translated[name]["name"]
        assert translated[name]["description"]
        assert translated[name]["fields"].keys() == service["fields"].keys()


def test_every_flow_field_has_a_description() -> None:
    """data_description for every field of every config and options step."""
    english = _load("en.json")
    steps = {
        **english["config"]["step"],
        **{f"options_{k}": v for k, v in english["options"]["step"].items()},
    }
    for step_id, step in steps.items():
        assert step.get("data", {}).keys() == step.get("data_description", {}).keys(), step_id


def test_flow_schemas_match_translations() -> None:
    """Every field a form shows has its translated label."""
    english = _load("en.json")
    config, options = english["config"]["step"], english["options"]["step"]

    def keys(schema: Any) -> set[str]:
        return {str(marker) for marker in schema.schema}

    assert (
        keys(SENSOR_SCHEMA)
        == config["sensor"]["data"].keys()
        == config["reconfigure_sensor"]["data"].keys()
    )
    assert (
        keys(METER_SCHEMA)
        == config["meter"]["data"].keys()
        == config["reconfigure_meter"]["data"].keys()
    )
    assert keys(options_schema("sensor")) == options["init"]["data"].keys()
    assert keys(options_schema("meter")) == options["meter"]["data"].keys()
