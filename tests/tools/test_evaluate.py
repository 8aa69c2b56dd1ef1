"""scripts/evaluate: NILM-CSV parsing, ground truth, metrics and the whole protocol on generated data."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from houses import house, kettle_runs, write_house
import numpy as np
import pytest

from custom_components.nilm.engine import Event
from nilm_tools import evaluate, nilm_csv
from nilm_tools.evaluate import (
    DataError,
    LabelChances,
    NamedSwitches,
    TruthEvent,
    appliance_metrics,
    false_rows,
    hold_between_readings,
    identification,
    lost_rows,
    main,
    match_one_to_one,
    named_switches,
    prf,
    read_nilm_csv,
    truth_events,
)
from nilm_tools.trace import Trace, format_trace


def _half_day_house(tmp_path: Path) -> tuple[Path, Path]:
    """A half-day house written to tmp_path; returns it and where its metrics JSON goes."""
    data = tmp_path / "house.csv"
    house(data, days=0.5)
    return data, tmp_path / "metrics.json"


def _evaluated_with(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], str]:
    """The half-day house evaluated with one of the printing flags: its metrics and what was printed."""
    data, out = _half_day_house(tmp_path)
    assert main([str(data), "--json", str(out), "--quiet", flag]) == 0
    return json.loads(out.read_text()), capsys.readouterr().out


def test_protocol_on_a_generated_house(tmp_path: Path) -> None:
    data = tmp_path / "house.csv"
    house(data)
    out = tmp_path / "metrics.json"
    pred = tmp_path / "pred.csv"
    assert main([str(data), "--json", str(out), "--predictions", str(pred), "--quiet"]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["events"]["f1"] > 0.9
    assert metrics["appliances"]["kettle"]["labels"] == 5
    assert metrics["appliances"]["kettle"]["state_f1"] > 0.9
    assert metrics["appliances"]["lamp"]["state_f1"] > 0.8
    header = pred.read_text().splitlines()[0]
    assert header == "timestamp,kettle,lamp"
    assert len(pred.read_text().splitlines()) == 1 + metrics["test_rows"]


def test_the_macro_average_leaves_out_appliances_seldom_on(tmp_path: Path) -> None:
    """An iron used twice in the test period is reported but not averaged (fewer than 3 ON events)."""
    t = 1.7e9 + np.arange(20_000, dtype=float)
    kettle = kettle_runs(t.size)
    iron = np.zeros(t.size)
    iron[15_000:15_300] = 1200.0
    iron[18_000:18_300] = 1200.0
    data = tmp_path / "house.csv"
    write_house(data, t, 120.0 + kettle + iron, kettle=kettle, iron=iron)
    out = tmp_path / "metrics.json"
    assert main([str(data), "--json", str(out), "--quiet"]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["appliances"]["iron"]["true_on_events"] == 2
    assert metrics["macro"]["appliances"] == 1
    assert metrics["macro"]["state_f1"] == metrics["appliances"]["kettle"]["state_f1"]


def test_an_appliance_switching_under_50_w_is_labeled_and_scored(tmp_path: Path) -> None:
    """A 40 W lamp: the user labels its switches like any other; detection is scored on >= 50 W changes."""
    data = tmp_path / "house.csv"
    house(data, lamp_w=40.0)
    out = tmp_path / "metrics.json"
    assert main([str(data), "--json", str(out), "--quiet"]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["appliances"]["lamp"]["labels"] == 5
    assert metrics["appliances"]["lamp"]["state_f1"] > 0.8
    # Only the kettle's switches in the test period are >= 50 W events.
    n = 86_400 // 4
    switches = [k for s in range(200, n - 400, 900) for k in (s, s + 150) if k >= 0.3 * n]
    assert metrics["events"]["true"] == len(switches)


def test_label_chances_are_windows_around_changes_of_appliances_still_to_label() -> None:
    truth = [TruthEvent(t, 0, name, 100.0) for t, name in [(100, "a"), (110, "b"), (500, "a")]]
    chances = LabelChances(truth, before=5.0, after=20.0)
    chances.update(frozenset({"a", "b"}))
    # [95, 120] and [105, 130] overlap into one window; [495, 520] is another.
    assert [chances.next_start(t) for t in (0.0, 96.0, 125.0, 131.0, 600.0)] == [
        95.0,
        96.0,
        125.0,
        495.0,
        math.inf,
    ]
    chances.update(frozenset({"b"}))
    assert [chances.next_start(t) for t in (0.0, 125.0, 131.0)] == [105.0, 125.0, math.inf]
    chances.update(frozenset())
    assert chances.next_start(0.0) == math.inf


def test_large_batches_between_label_chances_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The labeling period fed in large batches where no label can come: the same metrics as all small."""
    data = tmp_path / "house.csv"
    house(data, days=0.5)
    fast, slow = tmp_path / "fast.json", tmp_path / "slow.json"
    assert main([str(data), "--json", str(fast), "--quiet"]) == 0
    monkeypatch.setattr(evaluate.LabelChances, "next_start", lambda self, t: t)
    assert main([str(data), "--json", str(slow), "--quiet"]) == 0
    metrics = [json.loads(path.read_text()) for path in (fast, slow)]
    for m in metrics:
        del m["engine_seconds"], m["samples_per_second"]
    assert metrics[0] == metrics[1]
    assert metrics[0]["appliances"]["kettle"]["labels"] == 5


def test_one_reading_per_call_scores_as_large_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Test rows fed one per call (as a sensor source feeds Home Assistant): the same metrics."""
    data = tmp_path / "house.csv"
    house(data, days=0.25)
    text = data.read_text(encoding="utf-8").splitlines()
    # A repeated timestamp in the test period: a row no engine sees, so the backfill must skip it.
    text.insert(4000, text[4000])
    data.write_text("\n".join(text) + "\n", encoding="utf-8")
    batched, single = tmp_path / "batched.json", tmp_path / "single.json"
    assert main([str(data), "--json", str(batched), "--quiet"]) == 0
    monkeypatch.setattr(evaluate, "TEST_BATCH", 1)
    assert main([str(data), "--json", str(single), "--quiet"]) == 0
    metrics = [json.loads(path.read_text()) for path in (batched, single)]
    for m in metrics:
        del m["engine_seconds"], m["samples_per_second"]
    assert metrics[0] == metrics[1]
    assert metrics[0]["appliances"]["kettle"]["switch_f1"] > 0.9


def test_trace_shows_each_event_of_its_window_and_changes_no_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Events from the labeling period into the test period: answers, truth, labels, what was on after."""
    data, plain = _half_day_house(tmp_path)
    traced = tmp_path / "traced.json"
    assert main([str(data), "--json", str(plain), "--quiet"]) == 0
    t = read_nilm_csv(data).t
    window = (float(t[0]), float(t[int(0.5 * t.size)]))
    capsys.readouterr()
    args = [str(data), "--json", str(traced), "--quiet", "--trace", *map(str, window)]
    assert main(args) == 0
    printed = capsys.readouterr().out.splitlines()
    metrics = [json.loads(path.read_text()) for path in (plain, traced)]
    entries = metrics[1].pop("trace")
    for m in metrics:
        del m["engine_seconds"], m["samples_per_second"]
    assert metrics[0] == metrics[1]
    assert entries
    assert all(window[0] <= e["t"] <= window[1] for e in entries)
    assert printed[-len(entries) - 1].startswith("trace: ")
    # The simulated user's five kettle labels; later kettle events named by the engine, then shown on.
    kettle = [e for e in entries if e["truth"] == "kettle"]
    assert sum(e["labeled"] for e in kettle) == 5
    named = [e for e in kettle if e["status"] == "identified" and e["kind"] == "on"]
    assert named
    assert all(e["appliance"] == "kettle" and e["state"] for e in named)
    assert all(e["candidates"][0][0] == "kettle" and e["on"]["kettle"] > 1000 for e in named)
    first = kettle[0]
    line = printed[-len(entries) + entries.index(first)]
    assert line.startswith(f"  {first['t']:.0f} on ")
    assert "truth kettle" in line
    assert "LABELED" in line


def test_a_trace_window_is_fed_one_reading_at_a_time() -> None:
    t = np.arange(100.0)
    window = Trace(40.0, 49.0)
    assert [window.batch(t, start, 30) for start in (0, 20, 40, 49, 50, 80)] == [
        30,
        20,
        1,
        1,
        30,
        30,
    ]


def test_a_traced_event_without_answer_or_truth_reads_so() -> None:
    entry = {
        "t": 1700000123.4,
        "kind": "off",
        "dp": -61.0,
        "status": "unidentified",
        "appliance": None,
        "state": None,
        "confidence": 0.13,
        "candidates": [["lamp", "on", 0.14], ["tv", "on 2", 0.11]],
        "truth": None,
        "truth_dp": None,
        "labeled": False,
        "revised": True,
        "on": {},
    }
    assert format_trace([entry]).splitlines()[1] == (
        "  1700000123 off     -61 W  unidentified 0.13 (lamp/on 0.14, tv/on 2 0.11)"
        "  truth none (revised)  | on: -"
    )


def test_a_trace_window_must_not_end_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, _ = _half_day_house(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main([str(data), "--quiet", "--trace", "10", "5"])
    assert exited.value.code == 2
    assert "FROM <= TO" in capsys.readouterr().err


@pytest.mark.parametrize(
    "names",
    [("Fridge", "fridge"), ("k" * 70 + "  one", "k" * 70 + "  two")],
    ids=["alike-but-for-case", "longer-than-a-name"],
)
def test_columns_stay_apart_whatever_their_names(tmp_path: Path, names: tuple[str, str]) -> None:
    """Column names a user could not type as they are still make one appliance each, scored as such."""
    data = tmp_path / "house.csv"
    house(data)
    text = data.read_text(encoding="utf-8").replace("kettle,lamp", ",".join(names), 1)
    data.write_text(text, encoding="utf-8")
    out = tmp_path / "metrics.json"
    pred = tmp_path / "pred.csv"
    assert main([str(data), "--json", str(out), "--predictions", str(pred), "--quiet"]) == 0
    metrics = json.loads(out.read_text())
    for name in names:
        assert metrics["appliances"][name]["labels"] == 5
        assert metrics["appliances"][name]["state_f1"] > 0.8
    assert pred.read_text().splitlines()[0] == ",".join(["timestamp", *names])
    assert set(metrics["identification"]["confusion"][names[0]]) <= {
        names[0],
        names[1],
        "unidentified",
    }


@pytest.mark.parametrize(("inrush_w", "running_w"), [(1500.0, 90.0), (300.0, 40.0)])
def test_the_fall_that_settles_an_inrush_counts_as_detected(
    tmp_path: Path, inrush_w: float, running_w: float
) -> None:
    """A motor holding its inrush for 4 s before settling: two truth changes, both detected.

    The engine makes one ON of the running power of it (the inrush is its overshoot), but its detector saw
    both; at 40 W that ON is below the 50 W scored, and the rise still counts as the step it was.
    """
    n = 20_000
    motor = np.zeros(n)
    for start in range(300, n - 400, 700):
        motor[start : start + 4] = inrush_w
        motor[start + 4 : start + 300] = running_w
    mains = 100.0 + motor + np.random.default_rng(1).normal(0, 1, n)
    data = tmp_path / "motor.csv"
    write_house(data, 1.7e9 + np.arange(n, dtype=float), mains, motor=motor)
    out = tmp_path / "metrics.json"
    assert main([str(data), "--json", str(out), "--quiet"]) == 0
    events = json.loads(out.read_text())["events"]
    assert events["true"] > 30
    assert events["recall"] > 0.95
    assert events["precision"] > 0.95


def test_confusion_shows_what_each_appliance_was_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics, printed = _evaluated_with("--confusion", tmp_path, capsys)
    ident = metrics["identification"]
    assert f"identification of test-period events: {ident['accuracy']:.3f}" in printed
    kettle = ident["confusion"]["kettle"]
    assert kettle["kettle"] >= 0.9 * sum(kettle.values())
    assert ident["accuracy"] > 0.9
    for tier in ident["calibration"]:
        share = tier["right"] / tier["named"]
        assert f"  {tier['confidence']:.1f}-{tier['confidence'] + 0.1:.1f}" in printed
        assert f"{tier['named']:>6} events -> {share:.2f}" in printed
    assert sum(tier["named"] for tier in ident["calibration"]) > 0
    lost = metrics["lost_rows"]
    assert set(lost) == {"kettle", "lamp"}
    assert f"  kettle{'':<16}{lost['kettle']['lost']:>8,} rows" in printed
    assert "rows lost -> how their runs began" in printed
    for row in lost.values():
        assert sum(row["began_by"].values()) == row["lost"]
    false = metrics["false_rows"]
    assert set(false) == {"kettle", "lamp"}
    assert f"  lamp{'':<18}{false['lamp']['false']:>8,} rows" in printed
    assert "rows falsely ON -> what ended their runs" in printed
    for row in false.values():
        # Every false run is charged once to an ON and once to an end.
        assert sum(row["started_by"].values()) == sum(row["ended_by"].values()) == row["false"]


def test_learned_shows_what_the_labels_taught_each_appliance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The kettle's 2 kW and the lamp's 100 W, each learned from its five labels, with how long a run may last."""
    metrics, printed = _evaluated_with("--learned", tmp_path, capsys)
    learned = metrics["learned"]
    assert set(learned) == {"kettle", "lamp"}
    for name, power in (("kettle", 2000.0), ("lamp", 100.0)):
        (state,) = learned[name]
        assert state["step_w"] == pytest.approx(power, rel=0.05)
        assert state["spread_w"] < 0.05 * power
        # Every label the simulated user gave (the lamp switched only four times while labels were given).
        assert state["labeled_steps"] == metrics["appliances"][name]["labels"] >= 4
        # Resistive loads: no labeled start reads above its running level.
        assert state["inrush_share"] == 0.0
        # The kettle boils for 150 s, the lamp shines for 600 s: a run may last a margin longer.
        run_s = 150.0 if name == "kettle" else 600.0
        assert state["longest_run_s"] == pytest.approx(run_s, abs=5.0)
        assert state["timeout_s"] > state["longest_run_s"]
        assert f"  {name:<22}on      {state['step_w']:>8,.0f} W" in printed
    assert "what the labels taught" in printed


def test_labeling_every_event_shows_the_score_with_the_naming_perfect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = _half_day_house(tmp_path)
    unlabeled = [str(data), "--json", str(out), "--quiet", "--labels-per-appliance", "0"]
    assert main(unlabeled) == 0
    assert json.loads(out.read_text())["macro"]["state_f1"] == 0.0
    assert "diagnostic" not in capsys.readouterr().out
    assert main([*unlabeled, "--label-every-event"]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["label_every_event"] is True
    # None in the labeling period (its budget is the contract's), every switch in the test period.
    assert metrics["appliances"]["kettle"]["labels"] > 5
    assert metrics["macro"]["state_f1"] > 0.9
    assert "naming perfect (a diagnostic, not the contract)" in capsys.readouterr().out


def test_lost_rows_name_the_look_alike_estimated_on_instead_and_how_each_run_began() -> None:
    nan = math.nan
    truth = {
        "tv": np.array([60.0, 60.0, 60.0, 60.0, 0.0, nan]),
        "lamp": np.array([0.0, 0.0, 40.0, nan, 0.0, 0.0]),
        "fridge": np.array([0.0, 0.0, 0.0, 0.0, 90.0, 0.0]),
        "heater": np.full(6, 500.0),
        "pc": np.full(6, 80.0),
        "kettle": np.array([0.0, 2000.0, 2000.0, 2000.0, 0.0, 0.0]),
    }
    estimate = {
        # The TV is lost in rows 1-3, from its OFF named at t=1; the lamp wrongly on in rows 1 and 4 (row 2
        # it is truly on, row 3 unknown); the fridge wrongly on in row 3, and lost in row 4, its ON not
        # followed.
        "tv": np.array([60.0, 0.0, 0.0, 0.0, 0.0, 60.0]),
        "lamp": np.array([0.0, 40.0, 40.0, 40.0, 40.0, 0.0]),
        "fridge": np.array([0.0, 0.0, 0.0, 90.0, 0.0, 0.0]),
        # The heater: never estimated on, from the test's first row.
        "heater": np.zeros(6),
        # The PC: still on at less than its threshold in rows 1-2, then ended at another event at t=4.
        "pc": np.array([80.0, 30.0, 30.0, 80.0, 0.0, 0.0]),
        # The kettle: ended in row 3 by no event (its timeout).
        "kettle": np.array([0.0, 2000.0, 2000.0, 0.0, 0.0, 0.0]),
    }
    # The state metric's thresholds: half the median of each truth's samples above 20 W.
    thresholds = {
        "tv": 30.0,
        "lamp": 20.0,
        "fridge": 45.0,
        "heater": 250.0,
        "pc": 40.0,
        "kettle": 1000.0,
    }
    switches = NamedSwitches(ons={}, offs={"tv": np.array([1.0])}, times=np.array([1.0, 4.0]))
    columns = ((name, truth[name], estimate[name], thresholds[name]) for name in truth)
    assert lost_rows(columns, np.arange(6.0), switches) == {
        "tv": {"lost": 3, "taken_by": {"lamp": 1, "fridge": 1}, "began_by": {"its OFF": 3}},
        "lamp": {"lost": 0, "taken_by": {}, "began_by": {}},
        "fridge": {"lost": 1, "taken_by": {"lamp": 1}, "began_by": {"not followed": 1}},
        "heater": {"lost": 6, "taken_by": {"lamp": 2, "fridge": 1}, "began_by": {"test start": 6}},
        "pc": {
            "lost": 4,
            "taken_by": {"lamp": 2},
            "began_by": {"below threshold": 2, "another event": 2},
        },
        "kettle": {"lost": 1, "taken_by": {"fridge": 1}, "began_by": {"no event": 1}},
    }


def test_false_rows_are_charged_to_the_on_that_started_them_and_to_what_ended_them() -> None:
    t = np.arange(10.0)
    nan = math.nan
    truth = {
        "lamp": np.array([0.0, 0.0, 0.0, 0.0, 40.0, 40.0, 0.0, 0.0, nan, 0.0]),
        "kettle": np.zeros(10),
        "tv": np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 100.0, 100.0, 100.0, 0.0]),
        "fridge": np.zeros(10),
        "heater": np.zeros(10),
    }
    estimate = {
        # The lamp: falsely on in rows 1-2 (a TV's ON taken for it at t=1) until its OFF at t=3, truly on
        # in rows 4-5, then kept on in rows 6-7 past its OFF (row 8 is unknown, row 9 falsely on again
        # to the end of the test).
        "lamp": np.array([0.0, 40.0, 40.0, 0.0, 40.0, 40.0, 40.0, 40.0, 40.0, 40.0]),
        # The kettle: falsely on from the start, before any ON named it; an event of something else at
        # t=2 ended it (the mains no longer held it).
        "kettle": np.array([2000.0, 2000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        # The TV: ended at the lamp's OFF (another event) in row 3; on in row 5 before it truly came on.
        "tv": np.array([0.0, 80.0, 80.0, 0.0, 0.0, 80.0, 80.0, 80.0, 80.0, 0.0]),
        # The fridge: falsely on in rows 5-6, then on at less than its threshold (a share of the mains)
        # and falsely on again in row 8, one run its OFF at t=9 ended.
        "fridge": np.array([0.0, 0.0, 0.0, 0.0, 0.0, 90.0, 90.0, 30.0, 90.0, 0.0]),
        # The heater: falsely on in row 7 until a deadline (no event) in row 8.
        "heater": np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 500.0, 0.0, 0.0]),
    }
    thresholds = {"lamp": 20.0, "kettle": 1000.0, "tv": 50.0, "fridge": 45.0, "heater": 250.0}
    switches = NamedSwitches(
        ons={"lamp": [(1.0, "tv"), (4.0, "lamp")], "kettle": [(5.0, "none")]},
        offs={"lamp": np.array([3.0]), "fridge": np.array([9.0])},
        times=np.array([1.0, 2.0, 3.0, 4.0, 5.0]),
    )
    columns = ((name, truth[name], estimate[name], thresholds[name]) for name in truth)
    assert false_rows(columns, t, switches) == {
        "lamp": {
            "false": 5,
            "started_by": {"lamp": 3, "tv": 2},
            "ended_by": {"its OFF": 2, "truth missing": 2, "test end": 1},
        },
        "kettle": {"false": 2, "started_by": {"earlier": 2}, "ended_by": {"another event": 2}},
        "tv": {
            "false": 3,
            "started_by": {"earlier": 3},
            "ended_by": {"another event": 2, "truly on": 1},
        },
        "fridge": {"false": 3, "started_by": {"earlier": 3}, "ended_by": {"its OFF": 3}},
        "heater": {"false": 1, "started_by": {"earlier": 1}, "ended_by": {"no event": 1}},
    }


def test_named_switches_keep_the_named_ons_and_offs_and_every_event_time() -> None:
    on = Event("e1", 10.0, 60.0, "on", status="identified", appliance_id="a1")
    labeled_off = Event("e2", 30.0, -60.0, "off", status="labeled", appliance_id="a1")
    unidentified = Event("e3", 20.0, 45.0, "on")
    switches = named_switches([on, unidentified, labeled_off], {"a1": "lamp"}, lambda event: None)
    assert switches.ons == {"lamp": [(10.0, "none")]}
    assert switches.offs["lamp"].tolist() == [30.0]
    assert switches.times.tolist() == [10.0, 20.0, 30.0]


def test_identification_counts_unmatched_and_unidentified_events() -> None:
    named = Event("e1", 10.0, 2000.0, "on", status="identified", appliance_id="a1", confidence=1.0)
    wrong = Event(
        "e2", 20.0, -2000.0, "off", status="identified", appliance_id="a2", confidence=0.93
    )
    unsure = Event("e3", 30.0, 100.0, "on", appliance_id="a1", confidence=0.3)
    stray = Event("e4", 40.0, 60.0, "on", status="identified", appliance_id="a2", confidence=0.45)
    told = Event("e5", 50.0, 2000.0, "on", status="labeled", appliance_id="a1", confidence=0.5)
    truth = {10.0: "kettle", 20.0: "kettle", 30.0: "lamp", 50.0: "kettle"}

    def truth_of(event: Event) -> TruthEvent | None:
        name = truth.get(event.t)
        return None if name is None else TruthEvent(event.t, 0, name, event.dp)

    result = identification(
        [named, wrong, unsure, stray, told], {"a1": "kettle", "a2": "iron"}, truth_of
    )
    assert result["confusion"] == {
        "kettle": {"kettle": 2, "iron": 1},
        "lamp": {"unidentified": 1},
        "none": {"iron": 1},
    }
    assert result["accuracy"] == pytest.approx(2 / 4)
    # Only what the engine named itself is weighed by its confidence; a stray event named is wrong.
    assert result["calibration"] == [
        {"confidence": 0.4, "named": 1, "right": 0},
        {"confidence": 0.9, "named": 2, "right": 1},
    ]
    empty = identification([], {}, truth_of)
    assert np.isnan(empty["accuracy"])
    assert empty["calibration"] == []


def test_co_baseline_runs_through_the_same_protocol(tmp_path: Path) -> None:
    data, out = _half_day_house(tmp_path)
    assert main([str(data), "--method", "co", "--json", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["method"] == "co"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("timestamp,kettle\n1,2\n", "'timestamp' and 'mains_p'"),
        ("timestamp,mains_p,kettle\n2,1,0\n1,1,0\n", "not sorted"),
        ("timestamp,mains_p,kettle\n1,x,0\n", "line 2"),
        ("timestamp,mains_p,kettle\n1,1,0 # a note\n", "line 2"),
        ("timestamp,mains_p,kettle\n1,1\n", "2 cells"),
        ("timestamp,mains_p\n1,1\n", "no appliance"),
        ("# only a comment\n", "no header"),
    ],
)
def test_malformed_files_get_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=reason):
        read_nilm_csv(data)
    assert main([str(data)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("evaluate: error:")
    assert "\n" not in err


def test_a_byte_order_mark_is_not_part_of_the_header(tmp_path: Path) -> None:
    """Spreadsheet exports start UTF-8 files with a byte order mark."""
    data = tmp_path / "export.csv"
    data.write_bytes("timestamp,mains_p,kettle\n1,100,0\n".encode("utf-8-sig"))
    assert read_nilm_csv(data).mains["mains_p"].tolist() == [100.0]


def test_missing_cells_are_nan(tmp_path: Path) -> None:
    data = tmp_path / "gaps.csv"
    data.write_text("timestamp,mains_p,mains_q,kettle\n1,100,,0\n2,nan,5,\n", encoding="utf-8")
    parsed = read_nilm_csv(data)
    assert np.isnan(parsed.mains["mains_q"][0])
    assert np.isnan(parsed.mains["mains_p"][1])
    assert np.isnan(parsed.appliances["kettle"][1])


def test_rows_across_parsing_chunks_and_file_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows parsed a chunk at a time come out whole and in order; errors name the file's own line.

    A clean chunk goes through numpy's parser, one with an empty cell (row 5) line by line: same result.
    """
    monkeypatch.setattr(nilm_csv, "CHUNK_ROWS", 4)
    data = tmp_path / "house.csv"
    rows = "".join(f"{k},{100 + k},{'' if k == 5 else k % 2}\r\n" for k in range(11))
    data.write_text(f"# a comment\n\ntimestamp,mains_p,kettle\r\n{rows}", encoding="utf-8")
    parsed = read_nilm_csv(data)
    assert parsed.t.tolist() == list(range(11))
    assert parsed.t.dtype == np.float64
    assert parsed.mains["mains_p"].tolist() == [100.0 + k for k in range(11)]
    kettle = parsed.appliances["kettle"]
    assert kettle.dtype == np.float32
    assert np.isnan(kettle[5])
    assert np.delete(kettle, 5).tolist() == [k % 2 for k in range(11) if k != 5]
    data.write_text("# a comment\ntimestamp,mains_p,kettle\n1,1,0\n2,oops,0\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 4"):
        read_nilm_csv(data)


def test_truth_events_need_50_w_that_persists() -> None:
    t = np.arange(20, dtype=float)
    power = np.array(
        [0, 0, 1000, 1000, 1000, 0, 0, 0, 40, 40, 40, 0, 0, 300, 0, 0, 0, 0, 0, 0], dtype=float
    )
    events = truth_events(t, power, "x")
    assert [(e.index, round(e.dp)) for e in events] == [(2, 1000), (5, -1000)]


def test_changes_a_user_would_label_stand_above_the_readings_spread() -> None:
    """A lamp's 40 W is a change to label; a heater's reading dithering between 1,020 and 1,080 W is not."""
    t = np.arange(24, dtype=float)
    lamp = np.array([0.0] * 6 + [41.0] * 12 + [0.0] * 6)
    assert [
        (e.index, round(e.dp)) for e in truth_events(t, lamp, "lamp", 20.0, above_spread=True)
    ] == [
        (6, 41),
        (18, -41),
    ]
    heater = np.array([1020.0, 1080.0, 1080.0, 1020.0] * 6)
    # Its 3-sample means differ by 20 W: a change of >= 20 W by size alone, none above the spread.
    assert truth_events(t, heater, "heater", 20.0)
    assert truth_events(t, heater, "heater", 20.0, above_spread=True) == []


def test_a_decaying_inrush_is_timed_where_it_began() -> None:
    """A fridge's start (625 W decaying to 110 W) holds only from the 5th sample, but began at the 1st."""
    power = np.array(
        [0, 0, 625, 374, 246, 180, 146, 128, 119, 115, 112, 110, 110, 0, 0, 0], dtype=float
    )
    events = truth_events(np.arange(power.size, dtype=float), power, "fridge")
    # The OFF leaves the 110 W the fridge had settled to, not the 131 W measured as it was still settling.
    assert [(e.index, round(e.dp)) for e in events] == [(2, 131), (13, -111)]


def test_a_change_is_measured_from_the_level_just_before_it() -> None:
    """A TV creeping from 53 W to 77 W (3 W a sample) and then rising 32 W has no 50 W event."""
    power = np.array(
        [0.0] * 5 + [53.0] * 5 + list(range(56, 78, 3)) + [77.0] * 5 + [109.0] * 5 + [0.0] * 5
    )
    events = truth_events(np.arange(power.size, dtype=float), power, "tv")
    assert [(e.index, round(e.dp)) for e in events] == [(5, 53), (28, -109)]


def test_a_column_too_short_for_a_level_has_no_event() -> None:
    for n in range(3):
        assert truth_events(np.arange(n, dtype=float), np.full(n, 100.0, np.float32), "x") == []


def test_a_noisy_column_keeps_its_switches_and_its_jitter_makes_none() -> None:
    """A sub-meter jittering +-12 W around 0 and 1 kW: two switches, however often the reading moves."""
    rng = np.random.default_rng(3)
    power = np.concatenate([np.zeros(400), np.full(300, 1000.0), np.zeros(300)])
    power = (power + rng.uniform(-12.0, 12.0, power.size)).astype(np.float32)
    events = truth_events(
        np.arange(power.size, dtype=float), power, "heater", 20.0, above_spread=True
    )
    assert [e.index for e in events] == [400, 700]
    assert [e.dp for e in events] == pytest.approx([1000.0, -1000.0], abs=15.0)


def test_one_to_one_matching_uses_each_event_once() -> None:
    assert match_one_to_one([10.0, 11.0], [10.5], 3.0) == 1
    assert match_one_to_one([10.0, 20.0], [11.0, 19.0], 3.0) == 2
    assert match_one_to_one([10.0], [20.0], 3.0) == 0
    assert prf(1, 2, 4) == pytest.approx({"precision": 0.5, "recall": 0.25, "f1": 1 / 3})


def test_appliance_metrics_of_a_perfect_and_an_empty_estimate() -> None:
    t = np.arange(100, dtype=float)
    truth = np.where((t % 20) < 10, 500.0, 0.0)
    perfect = appliance_metrics(t, truth, truth.copy(), 3.0)
    assert perfect["state_f1"] == 1.0
    assert perfect["switch_f1"] == 1.0
    assert perfect["nep"] == 0.0
    empty = appliance_metrics(t, truth, np.zeros(100), 3.0)
    assert empty["state_f1"] == 0.0
    assert empty["nep"] == 1.0
    assert empty["energy_ratio"] == 0.0


def test_the_on_threshold_and_switches_follow_the_contract() -> None:
    """ON is at least half the median of the readings above 20 W; a switch must hold 3 samples."""
    t = np.arange(60, dtype=float)
    # Runs at 1,000 W and at 300 W (median above 20 W: 300 W, so ON is >= 150 W); standby 10 W is off.
    truth = np.array([10.0] * 10 + [300.0] * 20 + [10.0] * 10 + [1000.0] * 10 + [10.0] * 10)
    # The estimate sees the 300 W run only at 140 W (below ON), and flickers on for 2 samples in standby.
    estimate = truth.copy()
    estimate[10:30] = 140.0
    estimate[55:57] = 1000.0
    metrics = appliance_metrics(t, truth, estimate, 3.0)
    assert metrics["threshold_w"] == 150.0
    assert metrics["state_precision"] == pytest.approx(10 / 12)
    assert metrics["state_recall"] == pytest.approx(10 / 30)
    # Truth switches 4 times. The estimate's flicker makes no ON (it holds 2 samples), but its end is an OFF
    # that holds: 3 switches, 2 of them right.
    assert metrics["true_on_events"] == 2
    assert metrics["switch_f1"] == pytest.approx(prf(2, 3, 4)["f1"])


def test_a_missing_truth_reading_is_unknown_not_off() -> None:
    """A plug meter offline for a while: its rows are not scored, and no change is timed across them."""
    nan = float("nan")
    # On at 500 W, the meter drops out for 10 rows (the appliance stays on), then reports again.
    truth = np.array([0.0] * 10 + [500.0] * 10 + [nan] * 10 + [500.0] * 10 + [0.0] * 10)
    t = np.arange(truth.size, dtype=float)
    estimate = np.where((t >= 10) & (t < 40), 500.0, 0.0)
    metrics = appliance_metrics(t, truth, estimate, 3.0)
    assert metrics["state_f1"] == 1.0
    assert metrics["switch_f1"] == 1.0
    assert metrics["true_on_events"] == 1
    assert metrics["nep"] == 0.0
    assert [(e.index, round(e.dp)) for e in truth_events(t, truth, "x")] == [(10, 500), (40, -500)]
    # Off before the outage and on after it: the switch happened unseen, so there is no event to match.
    hidden = np.array([0.0] * 10 + [nan] * 10 + [500.0] * 10)
    assert truth_events(np.arange(30, dtype=float), hidden, "x") == []
    assert (
        appliance_metrics(np.arange(30, dtype=float), hidden, hidden.copy(), 3.0)["switch_f1"]
        == 0.0
    )
    # Missing from the first row: nothing is measured against an unknown level.
    late = np.array([nan] * 5 + [0.0] * 5 + [500.0] * 5)
    assert [
        (e.index, round(e.dp)) for e in truth_events(np.arange(15, dtype=float), late, "x")
    ] == [(10, 500)]


def test_a_sub_meter_read_every_few_rows_holds_its_reading_until_the_next() -> None:
    """Mains every second, a plug meter every 3 s: its empty cells hold its last reading, not a gap."""
    nan = float("nan")
    t = np.arange(13, dtype=float)
    held = np.array([0, nan, nan, 500, nan, nan, 500, nan, nan, nan, nan, nan, 0.0])
    hold_between_readings(t, held, 3.0)
    # Rows 7-11 lie between readings 6 s apart (twice its usual 3 s): a reading is missing, not held over.
    assert held.tolist()[:7] == [0, 0, 0, 500, 500, 500, 500]
    assert np.isnan(held[7:12]).all()
    assert held[12] == 0.0
    # Filling again changes nothing.
    again = held.copy()
    hold_between_readings(t, again, 3.0)
    np.testing.assert_array_equal(again, held)
    # Read with every row, one missing reading stays one.
    gap = np.where(t == 5, nan, 1.0)
    hold_between_readings(t, gap, 1.0)
    assert np.isnan(gap[5])
    # Nothing to hold before the first reading or after the last.
    edges = np.array([nan, 1, nan, 1, nan, 1, nan, nan, nan, nan, nan, 1, nan])
    hold_between_readings(t, edges, 2.0)
    assert np.isnan(edges[[0, 12]]).all()


def test_sub_meters_read_every_third_row_score_as_read_every_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real data sets meter the mains every second and appliances every few seconds (REDD, UK-DALE).

    The empty cells between an appliance's readings are neither unknown rows nor a reason to find no
    change: labels are given and the scores stay close to those of the fully read file. The tolerance
    widens to 1.5 of the sub-meters' own period, the time a change in them is known to.
    """
    full = tmp_path / "house.csv"
    house(full, days=0.5)
    lines = full.read_text().splitlines()
    sparse = [*lines[:2]]
    for k, line in enumerate(lines[2:]):
        cells = line.split(",")
        sparse.append(line if k % 3 == 0 else ",".join(cells[:2] + [""] * (len(cells) - 2)))
    data = tmp_path / "sparse.csv"
    data.write_text("\n".join(sparse) + "\n", encoding="utf-8")
    scores = []
    for path in (full, data):
        out = path.with_suffix(".json")
        assert main([str(path), "--json", str(out), "--quiet"]) == 0
        scores.append(json.loads(out.read_text()))
    assert "sub-meters read every 3.0 s, tolerance 4.5 s" in capsys.readouterr().out
    whole, thinned = scores
    assert thinned["tolerance_s"] == 4.5
    assert thinned["truth_period_s"] == 3.0
    for name in ("kettle", "lamp"):
        for count in ("labels", "true_on_events"):
            assert thinned["appliances"][name][count] == whole["appliances"][name][count] > 3
        assert (
            thinned["appliances"][name]["state_f1"] > whole["appliances"][name]["state_f1"] - 0.02
        )
    assert thinned["events"]["f1"] > 0.9


def test_the_mains_period_is_the_mains_own_with_sub_meters_on_rows_of_their_own(
    tmp_path: Path,
) -> None:
    """A union of timestamps: the mains every 3 s, each sub-meter reading on a row of its own in between.

    The rows without a mains reading are not the meter's: its period (and the tolerance) is 3 s, not the
    half second between rows, and its readings are scored against the sub-meters' last readings.
    """
    full = tmp_path / "house.csv"
    house(full, days=0.5)
    lines = full.read_text().splitlines()
    union = [*lines[:2]]
    for k, line in enumerate(lines[2:]):
        stamp, mains, *truth = line.split(",")
        if k % 3 == 0:
            union.append(",".join([stamp, mains] + [""] * len(truth)))
        union.append(",".join([f"{stamp}.5", "", *truth]))
    data = tmp_path / "union.csv"
    data.write_text("\n".join(union) + "\n", encoding="utf-8")
    out = tmp_path / "union.json"
    assert main([str(data), "--json", str(out), "--quiet"]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["median_period_s"] == 3.0
    assert metrics["truth_period_s"] == 1.0
    assert metrics["tolerance_s"] == 4.5
    assert metrics["appliances"]["kettle"]["labels"] == 5
    assert metrics["appliances"]["kettle"]["state_f1"] > 0.9


def test_rows_the_engine_cannot_use_are_not_scored(tmp_path: Path) -> None:
    """A repeated timestamp (a second recording interleaved) reaches no engine, so it is not judged.

    The predictions still have one row per file row: a skipped row repeats the estimate before it.
    """
    clean = tmp_path / "house.csv"
    house(clean, days=0.5)
    lines = clean.read_text().splitlines()
    doubled = [*lines[:2]]
    for line in lines[2:]:
        stamp = line.split(",")[0]
        doubled += [line, f"{stamp},5.0,0,0"]
    data = tmp_path / "doubled.csv"
    data.write_text("\n".join(doubled) + "\n", encoding="utf-8")
    out = tmp_path / "metrics.json"
    pred = tmp_path / "pred.csv"
    assert main([str(data), "--json", str(out), "--predictions", str(pred), "--quiet"]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["appliances"]["kettle"]["state_f1"] > 0.9
    assert metrics["events"]["f1"] > 0.9
    rows = pred.read_text().splitlines()[1:]
    assert len(rows) == metrics["test_rows"]
    # Each timestamp's two rows carry the same estimate.
    pairs = [rows[k : k + 2] for k in range(len(rows) % 2, len(rows) - 1, 2)]
    assert all(a == b for a, b in pairs)
