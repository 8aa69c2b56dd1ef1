"""Hassfest-like checks for this custom integration.

Home Assistant's hassfest skips most of its integration-quality-scale validators for custom integrations, so this
module applies the same rules here: the manifest, hacs.json, translations, icons, services, quality_scale.yaml and
the AST rules hassfest applies to core integrations. Run it with `scripts/check_quality [PATH]`.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
import sys
from typing import Any

import yaml

TIERS: dict[str, tuple[str, ...]] = {
    "bronze": (
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ),
    "gold": (
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}
ALL_RULES = frozenset(rule for rules in TIERS.values() for rule in rules)

# Entity platform modules hassfest knows (homeassistant.const.Platform values that we could plausibly ship).
PLATFORMS = frozenset(
    {
        "binary_sensor",
        "button",
        "event",
        "number",
        "select",
        "sensor",
        "switch",
        "text",
        "time",
        "update",
    }
)
MANIFEST_REQUIRED = (
    "domain",
    "name",
    "codeowners",
    "config_flow",
    "documentation",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "version",
)
IOT_CLASSES = frozenset(
    {
        "assumed_state",
        "calculated",
        "cloud_polling",
        "cloud_push",
        "local_polling",
        "local_push",
    }
)
HACS_KEYS = frozenset(
    {
        "name",
        "content_in_root",
        "country",
        "filename",
        "hacs",
        "hide_default_branch",
        "homeassistant",
        "persistent_directory",
        "render_readme",
        "zip_release",
    }
)
EXCEPTIONS_WITH_TRANSLATIONS = frozenset(
    {
        "ConfigEntryAuthFailed",
        "ConfigEntryError",
        "ConfigEntryNotReady",
        "HomeAssistantError",
        "ServiceValidationError",
        "UpdateFailed",
    }
)
SERVICE_REGISTRATIONS = frozenset(
    {
        "async_register",
        "register",
        "async_register_entity_service",
        "async_register_admin_service",
        "async_register_platform_entity_service",
    }
)
CONFIG_ENTRY_ANNOTATION = re.compile(r"^[A-Za-z]+ConfigEntry$")
VERSION = re.compile(r"^\d+(\.\d+){1,3}([.-]?(a|b|rc|dev|post)\d*)?$")


@dataclass
class Report:
    """The problems found, each as 'file: message'."""

    problems: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(f"{where}: {message}")


def _load_json(path: Path, report: Report) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        report.add(path.name, "missing")
    except json.JSONDecodeError as err:
        report.add(path.name, f"invalid JSON: {err}")
    return None


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _all_defined_names(tree: ast.AST) -> set[str]:
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _str_keyword(call: ast.Call, name: str) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            value = keyword.value.value
            if isinstance(value, str):
                return value
    return None


def _has_path(data: Any, *keys: str) -> bool:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True


def check_manifest(integration: Path, report: Report) -> dict[str, Any]:
    """Manifest keys, their order and values, as hassfest and HACS validate them."""
    manifest = _load_json(integration / "manifest.json", report)
    if not isinstance(manifest, dict):
        return {}
    keys = list(manifest)
    if keys[:2] != ["domain", "name"] or keys[2:] != sorted(keys[2:]):
        report.add("manifest.json", "keys are not sorted: domain, name, then alphabetical order")
    for key in MANIFEST_REQUIRED:
        if key not in manifest:
            report.add("manifest.json", f"missing key '{key}'")
    if manifest.get("domain") != integration.name:
        report.add("manifest.json", "domain does not match the directory name")
    if not VERSION.match(str(manifest.get("version", ""))):
        report.add("manifest.json", "version is not a valid version string")
    codeowners = manifest.get("codeowners")
    if not isinstance(codeowners, list) or not codeowners:
        report.add("manifest.json", "codeowners must be a non-empty list")
    for key in ("documentation", "issue_tracker"):
        url = str(manifest.get(key, ""))
        if not url.startswith("https://") or url.startswith(
            "https://www.home-assistant.io/integrations"
        ):
            report.add("manifest.json", f"{key} must be an https URL of this project")
    if manifest.get("iot_class") not in IOT_CLASSES:
        report.add("manifest.json", "iot_class is missing or invalid")
    if manifest.get("integration_type") != "hub":
        report.add(
            "manifest.json", "integration_type must be 'hub' (one meter, many appliance devices)"
        )
    if manifest.get("config_flow") is not True:
        report.add("manifest.json", "config_flow must be true")
    elif not (integration / "config_flow.py").is_file():
        report.add("manifest.json", "config_flow is true but config_flow.py is missing")
    return manifest


def check_hacs(repo: Path, report: Report) -> None:
    """hacs.json holds only keys HACS' schema allows (it rejects extra keys)."""
    hacs = _load_json(repo / "hacs.json", report)
    if not isinstance(hacs, dict):
        return
    if not isinstance(hacs.get("name"), str):
        report.add("hacs.json", "'name' (string) is required")
    for key in sorted(set(hacs) - HACS_KEYS):
        report.add("hacs.json", f"unknown key '{key}'")
    if hacs.get("zip_release") and "filename" not in hacs:
        report.add("hacs.json", "zip_release needs filename")


def check_files(integration: Path, report: Report) -> None:
    """Files a custom integration must or must not ship."""
    if (integration / "strings.json").exists():
        report.add(
            "strings.json", "custom integrations ship translations/en.json, not strings.json"
        )
    for path in sorted(integration.rglob("*")):
        if path.suffix in {".py", ".json", ".yaml"} and "[%key:" in path.read_text(
            encoding="utf-8"
        ):
            report.add(path.name, "[%key:...] references do not resolve in custom integrations")
    if not (integration / "brand" / "icon.png").is_file():
        report.add("brand/icon.png", "missing (HACS brands check)")
    for name in ("coordinator.py", "entity.py", "diagnostics.py", "services.yaml", "icons.json"):
        if not (integration / name).is_file():
            report.add(name, "missing")


def check_quality_scale(integration: Path, report: Report) -> None:
    """All 54 rules are listed, each done or exempt with a reason."""
    path = integration / "quality_scale.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        report.add("quality_scale.yaml", f"unreadable: {err}")
        return
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, dict):
        report.add("quality_scale.yaml", "no 'rules' mapping")
        return
    for rule in sorted(ALL_RULES - set(rules)):
        report.add("quality_scale.yaml", f"rule '{rule}' is not listed")
    for rule in sorted(set(rules) - ALL_RULES):
        report.add("quality_scale.yaml", f"unknown rule '{rule}'")
    for rule, value in rules.items():
        status = value.get("status") if isinstance(value, dict) else value
        if status == "done":
            continue
        if status == "exempt" and isinstance(value, dict) and str(value.get("comment", "")).strip():
            continue
        report.add(
            "quality_scale.yaml", f"rule '{rule}' is '{status}', not done or exempt with a comment"
        )


def _entry_annotation_ok(func: ast.FunctionDef | ast.AsyncFunctionDef, index: int) -> bool:
    args = func.args.posonlyargs + func.args.args
    annotation = args[index].annotation if len(args) > index else None
    return annotation is not None and bool(CONFIG_ENTRY_ANNOTATION.match(ast.unparse(annotation)))


def _stores_runtime_data(func: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == "runtime_data"
        and isinstance(node.ctx, ast.Store)
        for node in ast.walk(func)
    )


def _registers_services(func: ast.AST) -> bool:
    for node in ast.walk(func):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in SERVICE_REGISTRATIONS and "services" in ast.unparse(node.func):
            return True
        if name in {"async_register_entity_service", "async_setup_services"}:
            return True
    return False


def check_init(integration: Path, report: Report) -> None:
    """runtime_data, typed entry, unloading, action setup, test-before-setup."""
    tree = _parse(integration / "__init__.py")
    functions = _functions(tree)
    setup_entry = functions.get("async_setup_entry")
    if setup_entry is None:
        report.add("__init__.py", "async_setup_entry is missing")
    else:
        if not _stores_runtime_data(setup_entry):
            report.add("__init__.py", "async_setup_entry does not store entry.runtime_data")
        if _registers_services(setup_entry):
            report.add(
                "__init__.py",
                "actions are registered in async_setup_entry; register them in async_setup",
            )
    if "async_unload_entry" not in functions:
        report.add("__init__.py", "async_unload_entry is missing")
    for name in (
        "async_setup_entry",
        "async_unload_entry",
        "async_migrate_entry",
        "async_remove_entry",
        "async_remove_config_entry_device",
    ):
        if name in functions and not _entry_annotation_ok(functions[name], 1):
            report.add("__init__.py", f"{name}: the entry must be typed as a *ConfigEntry alias")
    if "async_remove_config_entry_device" not in functions:
        report.add("__init__.py", "async_remove_config_entry_device is missing (stale-devices)")


def check_platforms(integration: Path, report: Report) -> None:
    """PARALLEL_UPDATES and typed entries in every platform module."""
    for platform in sorted(PLATFORMS):
        path = integration / f"{platform}.py"
        if not path.is_file():
            continue
        tree = _parse(path)
        assigned = any(
            type(node) is ast.Assign
            and any(
                isinstance(target, ast.Name) and target.id == "PARALLEL_UPDATES"
                for target in node.targets
            )
            for node in tree.body
        )
        if not assigned:
            report.add(path.name, "no top-level, unannotated PARALLEL_UPDATES = ... assignment")
        setup_entry = _functions(tree).get("async_setup_entry")
        if setup_entry is None:
            report.add(path.name, "async_setup_entry is missing")
        else:
            if not _entry_annotation_ok(setup_entry, 1):
                report.add(
                    path.name, "async_setup_entry: the entry must be typed as a *ConfigEntry alias"
                )
            if _registers_services(setup_entry):
                report.add(path.name, "actions are registered in async_setup_entry")


def check_diagnostics(integration: Path, report: Report) -> None:
    """diagnostics.py defines a diagnostics function with a typed entry and redacts."""
    path = integration / "diagnostics.py"
    if not path.is_file():
        return
    tree = _parse(path)
    functions = _functions(tree)
    names = {"async_get_config_entry_diagnostics", "async_get_device_diagnostics"} & set(functions)
    if not names:
        report.add(
            "diagnostics.py", "no async_get_config_entry_diagnostics/async_get_device_diagnostics"
        )
    for name in names:
        if not _entry_annotation_ok(functions[name], 1):
            report.add("diagnostics.py", f"{name}: the entry must be typed as a *ConfigEntry alias")
    if "async_redact_data" not in ast.unparse(tree):
        report.add("diagnostics.py", "does not redact with async_redact_data")


def check_config_flow(integration: Path, report: Report) -> None:
    """Reconfigure, unique entry, and the test-before-setup rule across the package."""
    path = integration / "config_flow.py"
    if not path.is_file():
        return
    source = path.read_text(encoding="utf-8")
    defined = _all_defined_names(ast.parse(source))
    if "async_step_reconfigure" not in defined:
        report.add("config_flow.py", "async_step_reconfigure is missing")
    if "_async_abort_entries_match" not in source and not (
        "async_set_unique_id" in source and "_abort_if_unique_id_configured" in source
    ):
        report.add("config_flow.py", "no duplicate-entry abort (unique-config-entry)")


def check_test_before_setup(integration: Path, report: Report) -> None:
    """Setup can fail with ConfigEntryNotReady/Error/AuthFailed, or runs a first refresh."""
    for path in integration.rglob("*.py"):
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.Raise) and node.exc is not None:
                raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if ast.unparse(raised).split(".")[-1] in {
                    "ConfigEntryNotReady",
                    "ConfigEntryError",
                    "ConfigEntryAuthFailed",
                }:
                    return
            if (
                isinstance(node, ast.Call)
                and _call_name(node) == "async_config_entry_first_refresh"
            ):
                return
    report.add("__init__.py", "setup never raises ConfigEntryNotReady/Error (test-before-setup)")


def _class_index(integration: Path) -> dict[str, tuple[Path, ast.ClassDef]]:
    classes: dict[str, tuple[Path, ast.ClassDef]] = {}
    for path in integration.rglob("*.py"):
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.ClassDef):
                classes[node.name] = (path, node)
    return classes


def _base_names(node: ast.ClassDef) -> Iterator[str]:
    for base in node.bases:
        target = base.value if isinstance(base, ast.Subscript) else base
        yield ast.unparse(target).split(".")[-1]


def check_entities(integration: Path, report: Report) -> None:
    """Every entity class has _attr_has_entity_name = True (unannotated) in its local hierarchy; no icons in code."""
    classes = _class_index(integration)

    def is_entity(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name.endswith("Entity") or name in {"RestoreSensor"}:
            return True
        if name not in classes or name in seen:
            return False
        return any(is_entity(base, seen | {name}) for base in _base_names(classes[name][1]))

    def has_entity_name(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name not in classes or name in seen:
            return False
        node = classes[name][1]
        for item in node.body:
            if (
                type(item) is ast.Assign
                and any(
                    isinstance(t, ast.Name) and t.id == "_attr_has_entity_name"
                    for t in item.targets
                )
                and isinstance(item.value, ast.Constant)
                and item.value.value is True
            ):
                return True
        return any(has_entity_name(base, seen | {name}) for base in _base_names(node))

    for name, (path, node) in sorted(classes.items()):
        if "engine" in path.parts:
            continue
        if any(is_entity(base) for base in _base_names(node)) and not has_entity_name(name):
            report.add(path.name, f"{name} does not set _attr_has_entity_name = True")
    for path in integration.rglob("*.py"):
        for item in ast.walk(_parse(path)):
            if (isinstance(item, ast.Attribute) and item.attr == "_attr_icon") or (
                isinstance(item, ast.Name) and item.id == "_attr_icon"
            ):
                report.add(path.name, "_attr_icon used; icons belong in icons.json")
            if isinstance(item, ast.Call) and _str_keyword(item, "icon") is not None:
                report.add(path.name, "icon= used; icons belong in icons.json")


def _string_constants(integration: Path) -> dict[str, str]:
    """Module-level NAME = "text" assignments of the integration (const.py and friends)."""
    constants: dict[str, str] = {}
    for path in integration.glob("*.py"):
        for node in _parse(path).body:
            if not isinstance(node, ast.Assign | ast.AnnAssign):
                continue
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        constants[target.id] = node.value.value
    return constants


def _error_keys(integration: Path) -> set[str]:
    """The `key = "..."` class attributes of the engine's errors, raised through `translation_key=err.key`."""
    keys: set[str] = set()
    for path in (integration / "engine").glob("*.py"):
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if (
                        isinstance(item, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "key" for t in item.targets)
                        and isinstance(item.value, ast.Constant)
                    ):
                        keys.add(str(item.value.value))
    return keys


def _translation_key(call: ast.Call, constants: dict[str, str], error_keys: set[str]) -> list[str]:
    """The translation keys a call may use: a literal, a constant, or any engine error's key."""
    for keyword in call.keywords:
        if keyword.arg != "translation_key":
            continue
        value = keyword.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return [value.value]
        if isinstance(value, ast.Name) and value.id in constants:
            return [constants[value.id]]
        if isinstance(value, ast.Attribute) and value.attr == "key":
            return sorted(error_keys)
    return []


def _translation_uses(integration: Path) -> Iterator[tuple[Path, tuple[str, ...]]]:
    """Yield (file, path in en.json) for every translation key the code uses."""
    constants = _string_constants(integration)
    error_keys = _error_keys(integration)
    for path in sorted(integration.rglob("*.py")):
        if "engine" in path.parts:
            continue
        platform = path.stem
        for node in ast.walk(_parse(path)):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if (
                        isinstance(item, ast.Assign)
                        and any(
                            isinstance(t, ast.Name) and t.id == "_attr_translation_key"
                            for t in item.targets
                        )
                        and isinstance(item.value, ast.Constant)
                        and platform in PLATFORMS
                    ):
                        yield path, ("entity", platform, str(item.value.value), "name")
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            for key in _translation_key(node, constants, error_keys):
                if name in EXCEPTIONS_WITH_TRANSLATIONS:
                    yield path, ("exceptions", key, "message")
                elif name == "async_create_issue":
                    yield path, ("issues", key, "title")
                elif name.endswith("Description") and platform in PLATFORMS:
                    yield path, ("entity", platform, key, "name")


def check_translations(integration: Path, report: Report) -> None:
    """Every key the code uses exists in translations/en.json; every form field is described."""
    strings = _load_json(integration / "translations" / "en.json", report)
    if not isinstance(strings, dict):
        return
    for path, keys in _translation_uses(integration):
        if not _has_path(strings, *keys):
            report.add(
                path.name, f"translation key {'.'.join(keys)} is missing from translations/en.json"
            )
    for section in ("config", "options"):
        for step_id, step in strings.get(section, {}).get("step", {}).items():
            described = set(step.get("data_description", {}))
            for field_name in step.get("data", {}):
                if field_name not in described:
                    report.add(
                        "en.json",
                        f"{section}.step.{step_id}: field '{field_name}' has no data_description",
                    )
    flow = (
        (integration / "config_flow.py").read_text(encoding="utf-8")
        if (integration / "config_flow.py").is_file()
        else ""
    )
    for step_id in re.findall(r"step_id=\"(\w+)\"", flow):
        if not (
            _has_path(strings, "config", "step", step_id)
            or _has_path(strings, "options", "step", step_id)
        ):
            report.add("config_flow.py", f"step '{step_id}' has no translation")
    for reason in re.findall(r"async_abort\(\s*reason=\"(\w+)\"", flow):
        if not (
            _has_path(strings, "config", "abort", reason)
            or _has_path(strings, "options", "abort", reason)
        ):
            report.add("config_flow.py", f"abort reason '{reason}' has no translation")


def check_services(integration: Path, report: Report) -> None:
    """services.yaml, the services' translations and icons agree."""
    try:
        services = yaml.safe_load((integration / "services.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        report.add("services.yaml", f"unreadable: {err}")
        return
    strings = _load_json(integration / "translations" / "en.json", Report()) or {}
    icons = _load_json(integration / "icons.json", Report()) or {}
    for service, spec in services.items():
        for key in ("name", "description"):
            if not _has_path(strings, "services", service, key):
                report.add("en.json", f"service '{service}' has no {key}")
        for field_name in (spec or {}).get("fields", {}) or {}:
            for key in ("name", "description"):
                if not _has_path(strings, "services", service, "fields", field_name, key):
                    report.add("en.json", f"service '{service}' field '{field_name}' has no {key}")
        if not _has_path(icons, "services", service, "service"):
            report.add("icons.json", f"service '{service}' has no icon")
    for service in strings.get("services", {}):
        if service not in services:
            report.add("en.json", f"service '{service}' is translated but not in services.yaml")


def check(repo: Path, domain: str = "nilm") -> Report:
    """Run every check on the repository at `repo`."""
    report = Report()
    integration = repo / "custom_components" / domain
    if not integration.is_dir():
        report.add(str(integration), "integration directory is missing")
        return report
    check_manifest(integration, report)
    check_hacs(repo, report)
    check_files(integration, report)
    check_quality_scale(integration, report)
    check_init(integration, report)
    check_platforms(integration, report)
    check_diagnostics(integration, report)
    check_config_flow(integration, report)
    check_test_before_setup(integration, report)
    check_entities(integration, report)
    check_translations(integration, report)
    check_services(integration, report)
    for path in _manifests(repo):
        if path.parent != integration:
            report.add(
                str(path.relative_to(repo)), "stray manifest.json (hassfest validates every one)"
            )
    return report


def _manifests(repo: Path) -> Iterator[Path]:
    """Every manifest.json of the repository, skipping environments, caches and Home Assistant's config."""
    skip = {".venv", ".venv-esphome", ".cache", "node_modules", ".git", "config", ".esphome"}
    for root, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in skip]
        if "manifest.json" in files:
            yield Path(root) / "manifest.json"


def main(argv: list[str] | None = None) -> int:
    """Command line: print the problems and exit 1 when there are any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", nargs="?", default=Path.cwd(), type=Path, help="repository root")
    args = parser.parse_args(argv)
    report = check(args.repo)
    for problem in report.problems:
        print(f"check_quality: {problem}")
    if report.problems:
        print(f"check_quality: {len(report.problems)} problem(s)")
        return 1
    print("check_quality: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
