"""Grouping of similar unidentified events."""

from __future__ import annotations

from custom_components.nilm.engine.grouping import group_events
from custom_components.nilm.engine.model import Event


def _event(k: int, dp: float, status: str = "unidentified") -> Event:
    return Event(id=f"e{k}", t=float(k), dp=dp, kind="on" if dp > 0 else "off", status=status)  # type: ignore[arg-type]


def test_similar_steps_group_and_kinds_stay_apart() -> None:
    events = [
        _event(1, 1200.0),
        _event(2, 1210.0),
        _event(3, -1190.0),
        _event(4, 1195.0),
        _event(5, 300.0),
        _event(6, 1205.0, status="labeled"),
    ]
    groups = group_events(events)
    assert [(g.count, round(g.mean_dp)) for g in groups] == [(3, 1202), (1, -1190), (1, 300)]
    assert groups[0].id == "ge1"
    assert groups[0].event_ids == ("e1", "e2", "e4")


def test_group_id_is_stable_as_events_join() -> None:
    first = group_events([_event(1, 800.0), _event(2, 805.0)])[0]
    later = group_events([_event(1, 800.0), _event(2, 805.0), _event(9, 798.0)])[0]
    assert first.id == later.id
    assert later.count == 3


def test_a_group_spans_a_few_percent_not_a_different_appliance() -> None:
    """1,000 and 1,080 W are one device seen twice (within 8 % plus 20 W); 1,300 W is another."""
    groups = group_events([_event(1, 1000.0), _event(2, 1080.0), _event(3, 1300.0)])
    assert [g.event_ids for g in groups] == [("e1", "e2"), ("e3",)]
