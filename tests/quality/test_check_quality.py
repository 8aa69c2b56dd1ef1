"""The hassfest-like checks pass on the repository and catch each rule when it is broken."""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
import shutil
import subprocess

import pytest

from nilm_tools.quality import ALL_RULES, check

REPO = Path(__file__).resolve().parents[2]
INTEGRATION = Path("custom_components") / "nilm"


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of the integration and hacs.json to break."""
    shutil.copytree(
        REPO / INTEGRATION, tmp_path / INTEGRATION, ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "hacs.json", tmp_path / "hacs.json")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_rule_list_has_54_rules() -> None:
    assert len(ALL_RULES) == 54


def test_repository_passes() -> None:
    assert check(REPO).problems == []


def _annotate_parallel_updates(repo: Path) -> None:
    _edit(repo / INTEGRATION / "sensor.py", "PARALLEL_UPDATES = 0", "PARALLEL_UPDATES: int = 0")


def _drop_translation(repo: Path) -> None:
    path = repo / INTEGRATION / "translations" / "en.json"
    strings = json.loads(path.read_text(encoding="utf-8"))
    key = next(iter(strings["entity"]["sensor"]))
    del strings["entity"]["sensor"][key]
    path.write_text(json.dumps(strings), encoding="utf-8")


def _drop_exception_translation(repo: Path) -> None:
    path = repo / INTEGRATION / "translations" / "en.json"
    strings = json.loads(path.read_text(encoding="utf-8"))
    strings["exceptions"].popitem()
    path.write_text(json.dumps(strings), encoding="utf-8")


def _add_strings_json(repo: Path) -> None:
    (repo / INTEGRATION / "strings.json").write_text("{}", encoding="utf-8")


def _unsort_manifest(repo: Path) -> None:
    path = repo / INTEGRATION / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    version = manifest.pop("version")
    path.write_text(json.dumps({"version": version, **manifest}), encoding="utf-8")


def _drop_quality_rule(repo: Path) -> None:
    _edit(
        repo / INTEGRATION / "quality_scale.yaml", "  strict-typing: done", "  strict-typing: todo"
    )


def _extra_hacs_key(repo: Path) -> None:
    path = repo / "hacs.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**data, "domains": ["sensor"]}), encoding="utf-8")


def _annotate_has_entity_name(repo: Path) -> None:
    _edit(
        repo / INTEGRATION / "entity.py",
        "_attr_has_entity_name = True",
        "_attr_has_entity_name: bool = True",
    )


def _untyped_runtime_entry(repo: Path) -> None:
    path = repo / INTEGRATION / "sensor.py"
    _edit(path, "entry: NilmConfigEntry", "entry: ConfigEntry")


def _register_action_in_setup_entry(repo: Path) -> None:
    _edit(
        repo / INTEGRATION / "__init__.py",
        "entry.runtime_data =",
        "hass.services.async_register(DOMAIN, 'x', lambda call: None)\n    entry.runtime_data =",
    )


def _drop_reconfigure(repo: Path) -> None:
    _edit(
        repo / INTEGRATION / "config_flow.py",
        "async_step_reconfigure",
        "async_step_reconfigure_old",
    )


def _icon_in_code(repo: Path) -> None:
    _edit(
        repo / INTEGRATION / "entity.py",
        "_attr_has_entity_name = True",
        "_attr_has_entity_name = True\n    _attr_icon = 'mdi:flash'",
    )


def _stray_manifest(repo: Path) -> None:
    (repo / "tests").mkdir()
    (repo / "tests" / "manifest.json").write_text("{}", encoding="utf-8")


BREAKAGES: dict[str, Callable[[Path], None]] = {
    "annotated PARALLEL_UPDATES": _annotate_parallel_updates,
    "missing entity translation": _drop_translation,
    "missing exception translation": _drop_exception_translation,
    "strings.json shipped": _add_strings_json,
    "manifest keys unsorted": _unsort_manifest,
    "quality rule todo": _drop_quality_rule,
    "unknown hacs.json key": _extra_hacs_key,
    "annotated has_entity_name": _annotate_has_entity_name,
    "untyped entry in a platform": _untyped_runtime_entry,
    "action registered in async_setup_entry": _register_action_in_setup_entry,
    "no reconfigure step": _drop_reconfigure,
    "icon in code": _icon_in_code,
    "stray manifest": _stray_manifest,
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_breaking_a_rule_is_caught(repo_copy: Path, breakage: Callable[[Path], None]) -> None:
    assert check(repo_copy).problems == []
    breakage(repo_copy)
    assert check(repo_copy).problems


def test_script_exits_nonzero_on_a_broken_copy(repo_copy: Path) -> None:
    """scripts/test runs scripts/check_quality and fails when it does."""
    _annotate_parallel_updates(repo_copy)
    result = subprocess.run(
        [str(REPO / "scripts" / "check_quality"), str(repo_copy)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "PARALLEL_UPDATES" in result.stdout
