"""scripts/evaluate-many: many houses evaluated as scripts/evaluate does, and a change judged house by house."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
from typing import Any

from houses import house
import pytest

from nilm_tools import evaluate
from nilm_tools.evaluate_many import format_summary, main

REPO = Path(__file__).parents[2]
# What differs between two runs of the same engine on the same file.
TIMINGS = ("engine_seconds", "samples_per_second")


def _houses(tmp_path: Path) -> list[Path]:
    """Two small generated houses, drawn with different seeds."""
    paths = [tmp_path / "one.csv", tmp_path / "two.csv"]
    for seed, path in enumerate(paths, start=3):
        house(path, days=0.25, seed=seed)
    return paths


def _metrics(path: Path) -> dict[str, Any]:
    """A metrics JSON without its timings."""
    metrics: dict[str, Any] = json.loads(path.read_text())
    return {key: value for key, value in metrics.items() if key not in TIMINGS}


def _house_metrics(state_f1: float, appliances: dict[str, tuple[float, int]]) -> dict[str, Any]:
    """Metrics of a house as the evaluator writes them, with these macro and per-appliance state F1."""
    return {
        "macro": {"state_f1": state_f1, "switch_f1": 0.5, "nep": 1.0},
        "events": {"f1": 0.9},
        "appliances": {
            name: {"state_f1": f1, "true_on_events": ons} for name, (f1, ons) in appliances.items()
        },
    }


def test_each_house_gets_the_metrics_scripts_evaluate_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = _houses(tmp_path)
    assert main([str(tmp_path / "out"), str(one), str(two), "--jobs", "1"]) == 0
    for path in (one, two):
        single = tmp_path / f"{path.stem}-single.json"
        assert evaluate.main([str(path), "--json", str(single), "--quiet"]) == 0
        assert _metrics(tmp_path / "out" / f"{path.stem}.json") == _metrics(single)
    table = capsys.readouterr().out
    assert table.splitlines()[1].startswith("one ")
    assert "mean (2)" in table
    assert "paired change" not in table


def test_the_naming_perfect_diagnostic_runs_as_scripts_evaluate_runs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one, _ = _houses(tmp_path)
    assert main([str(tmp_path / "out"), str(one), "--jobs", "1", "--label-every-event"]) == 0
    assert "naming perfect (a diagnostic, not the contract)" in capsys.readouterr().out
    single = tmp_path / "single.json"
    assert evaluate.main([str(one), "--json", str(single), "--quiet", "--label-every-event"]) == 0
    metrics = _metrics(tmp_path / "out" / "one.json")
    assert metrics == _metrics(single)
    assert metrics["label_every_event"] is True


def test_parallel_runs_score_as_one_at_a_time(tmp_path: Path) -> None:
    houses = [str(path) for path in _houses(tmp_path)]
    assert main([str(tmp_path / "serial"), *houses, "--jobs", "1"]) == 0
    assert main([str(tmp_path / "parallel"), *houses, "--jobs", "2"]) == 0
    for name in ("one", "two"):
        serial = _metrics(tmp_path / "serial" / f"{name}.json")
        assert _metrics(tmp_path / "parallel" / f"{name}.json") == serial


def test_the_same_engine_against_itself_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    houses = [str(path) for path in _houses(tmp_path)]
    assert main([str(tmp_path / "base"), *houses, "--jobs", "1"]) == 0
    capsys.readouterr()
    assert (
        main([str(tmp_path / "new"), *houses, "--jobs", "1", "--against", str(tmp_path / "base")])
        == 0
    )
    table = capsys.readouterr().out
    assert "paired change of macro state F1: +0.0000 (standard error 0.0000, 2 houses)" in table
    assert "(+0.000, 2 houses)" in table


def test_paired_changes_and_their_standard_error() -> None:
    base = {
        "a": _house_metrics(0.40, {"kettle": (0.8, 10), "lamp": (0.2, 5)}),
        "b": _house_metrics(0.50, {"kettle": (0.6, 10), "lamp": (0.4, 2)}),
    }
    runs = {
        "a": _house_metrics(0.50, {"kettle": (0.9, 10), "lamp": (0.3, 5)}),
        "b": _house_metrics(0.50, {"kettle": (0.7, 10), "lamp": (0.9, 2)}),
        "c": _house_metrics(0.30, {"kettle": (0.1, 10)}),
    }
    lines = format_summary(runs, base).splitlines()
    assert lines[1].endswith("0.400  +0.100")
    assert lines[3].split() == ["c", "0.300", "0.900", "0.500", "1.00"]
    assert lines[4].split()[:4] == ["mean", "(3)", "0.433", "0.900"]
    # Differences 0.1 and 0.0: mean 0.05, sample deviation 0.0707, standard error 0.05.
    assert lines[5] == "paired change of macro state F1: +0.0500 (standard error 0.0500, 2 houses)"
    # House c has no base; b's lamp has too few ON events to count in the macro average.
    assert lines[7].split() == ["kettle", "0.700", "->", "0.800", "(+0.100,", "2", "houses)"]
    assert lines[8].split() == ["lamp", "0.200", "->", "0.300", "(+0.100,", "1", "houses)"]


def test_a_base_without_these_houses_compares_none() -> None:
    runs = {"a": _house_metrics(0.5, {})}
    assert format_summary(runs, {}).splitlines()[-1] == "no house is in both runs"
    one = format_summary(runs, {"a": _house_metrics(0.4, {})}).splitlines()
    assert "standard error nan, 1 houses" in one[3]


def test_a_bad_file_is_reported_and_the_others_are_scored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.csv"
    house(good, days=0.25)
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,mains_p,kettle\n1,x,0\n", encoding="utf-8")
    assert main([str(tmp_path / "out"), str(bad), str(good), "--jobs", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"evaluate-many: error: {bad}: ")
    assert "good " in captured.out
    assert (tmp_path / "out" / "good.json").is_file()
    assert not (tmp_path / "out" / "bad.json").exists()


def test_a_house_missing_from_the_base_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.csv"
    house(good, days=0.25)
    (tmp_path / "base").mkdir()
    args = [str(tmp_path / "out"), str(good), "--jobs", "1", "--against", str(tmp_path / "base")]
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "no base metrics for good" in captured.err
    assert "no house is in both runs" in captured.out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--train-fraction", "1"], "--train-fraction must be in [0, 1)"),
        (["--against", "nowhere"], "is not a directory"),
        (["sub/same.csv"], "distinct names"),
    ],
)
def test_arguments_are_checked_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([str(tmp_path / "out"), "same.csv", *extra])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("script", ["evaluate", "evaluate-many"])
def test_the_scripts_run_their_own_checkout_from_any_directory(tmp_path: Path, script: str) -> None:
    # A Home Assistant config directory holds a custom_components/ of its own; run from there, the script
    # must still import the engine of the checkout it belongs to.
    shadow = tmp_path / "custom_components"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('the caller directory was imported')\n")
    result = subprocess.run(
        [str(REPO / "scripts" / script), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"usage: scripts/{script}" in result.stdout
