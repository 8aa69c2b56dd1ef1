"""scripts/evaluate --groups: how pure the groups a user is offered to label are."""

from __future__ import annotations

import json
from pathlib import Path

from houses import house
import pytest

from custom_components.nilm.engine import Event
from custom_components.nilm.engine.grouping import group_events
from nilm_tools.evaluate import TruthEvent, main
from nilm_tools.grouping_quality import format_groups, group_quality


def _event(k: int, dp: float, dq: float) -> Event:
    return Event(id=f"e{k}", t=float(k), dp=dp, kind="on" if dp > 0 else "off", dq=dq)


def test_purity_and_what_labeling_the_largest_groups_names_right() -> None:
    """Six drum steps with one fridge start among them, three fridge starts apart, two steps of nobody."""
    drum = [_event(k, 155.0, 210.0) for k in range(6)]
    stray_fridge = _event(6, 152.0, 205.0)
    fridge = [_event(k, 150.0, 100.0) for k in range(7, 10)]
    nobody = [_event(k, 900.0, 0.0) for k in range(10, 12)]
    events = [*drum, stray_fridge, *fridge, *nobody]
    source = {e.id: "washer" for e in drum} | {e.id: "fridge" for e in [stray_fridge, *fridge]}

    def truth_of(event: Event) -> TruthEvent | None:
        name = source.get(event.id)
        return None if name is None else TruthEvent(event.t, 0, name, event.dp)

    quality = group_quality(group_events(events), events, truth_of)
    assert quality["pending"] == 12
    assert quality["groups"] == 3
    # 11 of 12 events are in their group's most common source (the two of nobody count as one source).
    assert quality["purity"] == pytest.approx(11 / 12)
    # The largest group (drum and the stray fridge start) names 6 right; the fridge's 3 more; nobody's none.
    assert quality["named_right"] == {"3": 9, "10": 9}
    assert [row["sources"] for row in quality["largest"]] == [
        {"washer": 6, "fridge": 1},
        {"fridge": 3},
        {"(none)": 2},
    ]
    printed = format_groups(quality)
    assert "groups of the 12 unidentified events: 3, purity 0.917" in printed
    assert "names 9 / 9 right" in printed
    assert "    +155 W +209 var x7: washer 6, fridge 1" in printed
    assert "    +900 W +0 var x2: (none) 2" in printed


def test_groups_are_printed_with_the_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, out = tmp_path / "house.csv", tmp_path / "metrics.json"
    house(data, days=0.5)
    assert main([str(data), "--json", str(out), "--quiet"]) == 0
    assert "groups of the" not in capsys.readouterr().out
    assert main([str(data), "--json", str(out), "--quiet", "--groups"]) == 0
    quality = json.loads(out.read_text())["groups"]
    # The lamp's one OFF the engine left unidentified, offered alone.
    assert quality["largest"] == [
        {
            "step": pytest.approx(-101, abs=5),
            "reactive_step": None,
            "count": 1,
            "sources": {"lamp": 1},
        }
    ]
    assert format_groups(quality) in capsys.readouterr().out
