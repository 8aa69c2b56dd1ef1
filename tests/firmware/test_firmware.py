"""The firmware without hardware: the core's host unit tests, its payload against the contract, ESPHome YAML.

The host build uses g++ and doctest (scripts/setup provides both); a missing tool fails these tests rather
than skipping them, because a skipped firmware check would silently pass CI. No ESP32 compile is possible
offline: `esphome config` (schema) and `esphome compile --only-generate` (code generation) are the gates.
"""

from __future__ import annotations

from collections import Counter
import json
import math
from pathlib import Path
import re
import shutil
import subprocess
from typing import Any

import pytest

from custom_components.nilm.meter import OPTIONAL_FIELDS, RANGES
from custom_components.nilm.payload import MAX_BODY_BYTES, MAX_FW_CHARS, MAX_SAMPLES

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
HOST_TESTS = FIRMWARE / "arduino" / "test"
ESPHOME = REPO / ".venv-esphome" / "bin" / "esphome"
YAMLS = sorted(p for p in (FIRMWARE / "esphome").glob("*.yaml") if not p.name.startswith("secrets"))

# The contract (docs/CONTRACTS.md, "Meter push payload").
ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
TOP_KEYS = {"device_id", "boot_id", "seq", "fw", "samples"}
SAMPLE_KEYS = {"t", "p", *OPTIONAL_FIELDS}
# payload_dump's clock: 2026-01-01T00:00:00Z at uptime 0, 90 simulated seconds, one failed read at 41 s.
DUMP_EPOCH = 1767225600.0
DUMP_SECONDS = 90
DUMP_FAILED_READS = {DUMP_EPOCH + 41}


@pytest.fixture(scope="module")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the host unit tests and payload_dump once (make -j2, address and UB sanitizers)."""
    for tool in ("g++", "make"):
        assert shutil.which(tool), f"{tool} is missing: run scripts/setup"
    build = tmp_path_factory.mktemp("firmware-host")
    result = subprocess.run(
        ["make", "-C", str(HOST_TESTS), f"BUILD_DIR={build}", "-j2", "all"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"host build failed:\n{result.stdout}\n{result.stderr}"
    return build


@pytest.fixture(scope="module")
def batches(host_build: Path) -> list[str]:
    """Every request body payload_dump printed, one per line, in posting order."""
    result = subprocess.run(
        [host_build / "payload_dump"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _no_constants(name: str) -> None:
    raise AssertionError(f"non-JSON constant {name} in the payload")


def _decode(line: str) -> dict[str, Any]:
    payload = json.loads(line, parse_constant=_no_constants)
    assert isinstance(payload, dict)
    return payload


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_core_unit_tests_pass(host_build: Path) -> None:
    """Every doctest case of the core passes, under the sanitizers, with a sizeable number of checks."""
    result = subprocess.run(
        [host_build / "core_tests"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cases = re.search(r"test cases:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed", result.stdout)
    assert cases, result.stdout
    total, passed, failed = map(int, cases.groups())
    assert failed == 0
    assert passed == total >= 60
    assertions = re.search(r"assertions:\s*(\d+) \|\s*(\d+) passed", result.stdout)
    assert assertions
    assert int(assertions.group(2)) >= 800


def test_payload_follows_contract(batches: list[str]) -> None:
    """Keys, types, identifiers, limits and ranges of every body are the contract's."""
    assert len(batches) >= 5
    for line in batches:
        assert len(line.encode()) <= MAX_BODY_BYTES
        payload = _decode(line)
        assert set(payload) <= TOP_KEYS
        assert {"device_id", "boot_id", "seq", "samples"} <= set(payload)
        assert ID_PATTERN.fullmatch(payload["device_id"])
        assert ID_PATTERN.fullmatch(payload["boot_id"])
        assert isinstance(payload["seq"], int)
        assert not isinstance(payload["seq"], bool)
        assert payload["seq"] >= 0
        assert isinstance(payload["fw"], str)
        assert len(payload["fw"]) <= MAX_FW_CHARS
        samples = payload["samples"]
        assert isinstance(samples, list)
        assert 0 < len(samples) <= MAX_SAMPLES
        for sample in samples:
            assert isinstance(sample, dict)
            assert {"t", "p"} <= set(sample) <= SAMPLE_KEYS
            assert all(_is_number(v) and math.isfinite(v) for v in sample.values()), sample
            assert DUMP_EPOCH <= sample["t"] <= DUMP_EPOCH + DUMP_SECONDS
            for name, (low, high) in RANGES.items():
                if name in sample:
                    assert low <= sample[name] <= high, (name, sample)


def test_payload_sequence_and_retries(batches: list[str]) -> None:
    """seq starts at 0 and grows by 1; a retry resends the identical body; every reading is sent once."""
    payloads = [_decode(line) for line in batches]
    assert {(p["device_id"], p["boot_id"]) for p in payloads} == {("nilm-meter-a1b2c3", "5f3a9c1e")}
    assert payloads[0]["seq"] == 0
    unique: list[str] = []
    for previous, line, payload in zip([None, *payloads[:-1]], batches, payloads, strict=True):
        if previous is not None and payload["seq"] == previous["seq"]:
            assert line == unique[-1], "a retry must resend the same body"
            continue
        assert payload["seq"] == (previous["seq"] + 1 if previous else 0)
        unique.append(line)
    assert len(unique) < len(batches), "payload_dump includes one retried batch"
    times = [s["t"] for line in unique for s in _decode(line)["samples"]]
    assert times == sorted(times)
    assert Counter(times).most_common(1)[0][1] == 1
    expected = {DUMP_EPOCH + s for s in range(DUMP_SECONDS)} - DUMP_FAILED_READS
    assert set(times) == expected


def test_payload_leaves_out_missing_values(batches: list[str]) -> None:
    """A reading without PF and energy keeps its other fields; values at the meter's limits pass as they are."""
    samples = {s["t"]: s for line in batches for s in _decode(line)["samples"]}
    assert set(samples[DUMP_EPOCH + 40]) == {"t", "v", "i", "p", "f"}
    assert samples[DUMP_EPOCH + 60]["v"] == 80.0
    assert samples[DUMP_EPOCH + 61]["v"] == 260.0
    assert samples[DUMP_EPOCH + 62]["p"] == 23000.0
    assert samples[DUMP_EPOCH + 63]["p"] == 0.0


def test_payload_is_accepted_by_the_webhook_parser(batches: list[str]) -> None:
    """The integration's own parser takes every body whole: nothing malformed, no reading dropped."""
    # Imported here so the other firmware checks still run while the integration does not import.
    from custom_components.nilm.payload import parse_batch

    for line in batches:
        batch = parse_batch(line.encode(), now=DUMP_EPOCH + DUMP_SECONDS)
        assert batch.dropped == 0
        assert len(batch.readings) == len(_decode(line)["samples"])
        assert batch.info.fw == "1.0.0"


@pytest.fixture(scope="module")
def esphome_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of firmware/ whose esphome/secrets.yaml holds the example placeholders."""
    assert ESPHOME.exists(), f"{ESPHOME} is missing: run scripts/setup"
    root = tmp_path_factory.mktemp("firmware-esphome")
    shutil.copytree(
        FIRMWARE,
        root / "firmware",
        ignore=shutil.ignore_patterns("build", ".esphome", "secrets.yaml", "config.h"),
    )
    shutil.copy(
        root / "firmware/esphome/secrets.example.yaml", root / "firmware/esphome/secrets.yaml"
    )
    return root / "firmware" / "esphome"


def test_esphome_configurations_exist() -> None:
    """Both documented configurations are there to validate."""
    assert [p.name for p in YAMLS] == ["nilm-meter-webhook.yaml", "nilm-meter.yaml"]


@pytest.mark.parametrize("yaml", YAMLS, ids=lambda p: p.name)
def test_esphome_config_is_valid(esphome_dir: Path, yaml: Path) -> None:
    """`esphome config` accepts the configuration offline, and code generation pulls in the core."""
    config = subprocess.run(
        [ESPHOME, "config", yaml.name],
        cwd=esphome_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert config.returncode == 0, config.stdout + config.stderr
    assert "Configuration is valid!" in config.stdout + config.stderr
    generate = subprocess.run(
        [ESPHOME, "compile", "--only-generate", yaml.name],
        cwd=esphome_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert generate.returncode == 0, generate.stdout + generate.stderr
    source = esphome_dir / ".esphome" / "build" / "nilm-meter" / "src"
    main = (source / "main.cpp").read_text(encoding="utf-8")
    assert (source / "nilm" / "nilm_core.h").is_file()
    assert main.index('#include "nilm/derived.h"') < main.index("void setup()")
    assert "nilm::reactive_power(" in main


def test_esphome_rejects_a_broken_secret(esphome_dir: Path, tmp_path: Path) -> None:
    """The validation is real: a malformed API encryption key fails it."""
    broken = tmp_path / "esphome"
    shutil.copytree(esphome_dir, broken, ignore=shutil.ignore_patterns(".esphome"))
    shutil.copytree(esphome_dir.parent / "arduino", tmp_path / "arduino")
    secrets = broken / "secrets.yaml"
    secrets.write_text(
        secrets.read_text(encoding="utf-8").replace(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "not-base64"
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [ESPHOME, "config", "nilm-meter.yaml"],
        cwd=broken,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Invalid key format" in result.stdout + result.stderr
