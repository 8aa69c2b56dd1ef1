"""Grouping of similar unidentified events."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.nilm.engine.grouping import group_events
from custom_components.nilm.engine.model import Event, EventKind, EventStatus


def _event(
    k: int, dp: float, status: EventStatus = "unidentified", dq: float | None = None
) -> Event:
    kind: EventKind = "on" if dp > 0 else "off"
    return Event(id=f"e{k}", t=float(k), dp=dp, kind=kind, status=status, dq=dq)


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
    assert (groups[0].first_t, groups[0].last_t) == (1.0, 4.0)


def test_group_id_is_stable_as_events_join() -> None:
    first = group_events([_event(1, 800.0), _event(2, 805.0)])[0]
    later = group_events([_event(1, 800.0), _event(2, 805.0), _event(9, 798.0)])[0]
    assert first.id == later.id
    assert later.count == 3


def test_a_group_spans_a_few_percent_not_a_different_appliance() -> None:
    """1,000 and 1,080 W are one device seen twice (within 8 % plus 20 W); 1,300 W is another."""
    groups = group_events([_event(1, 1000.0), _event(2, 1080.0), _event(3, 1300.0)])
    assert [g.event_ids for g in groups] == [("e1", "e2"), ("e3",)]


def test_loads_of_one_size_part_by_their_reactive_steps() -> None:
    """A washer's drum (155 W, ~210 var) and a fridge's start (150 W, ~100 var) are two groups."""
    drum = [_event(k, 155.0 + k % 3, dq=200.0 + 10 * (k % 3)) for k in range(1, 6)]
    fridge = [_event(k, 150.0 - k % 2, dq=95.0 + 10 * (k % 2)) for k in range(10, 14)]
    groups = group_events(drum + fridge)
    assert [(g.count, round(g.mean_dq or 0.0)) for g in groups] == [(5, 212), (4, 100)]
    assert groups[1].event_ids == ("e10", "e11", "e12", "e13")


def test_reactive_steps_without_a_wide_gap_stay_one_group() -> None:
    """A meter's |Q| scatters one load's reactive steps (here 60-200 var, 28 var apart): one group."""
    events = [_event(k, 155.0, dq=60.0 + 28.0 * k) for k in range(6)]
    groups = group_events(events)
    assert [g.count for g in groups] == [6]
    assert groups[0].mean_dq == pytest.approx(130.0)


def test_a_lone_reactive_outlier_does_not_make_a_group() -> None:
    """One step far off in Q is no second load: a cluster needs two steps."""
    events = [_event(k, 1200.0, dq=10.0) for k in range(4)] + [_event(9, 1200.0, dq=400.0)]
    assert [g.count for g in group_events(events)] == [5]


def test_steps_without_their_reactive_part_are_grouped_by_size() -> None:
    """Where a step's reactive part is unknown, its group is by size alone and shows no reactive step."""
    events = [_event(1, 155.0, dq=100.0), _event(2, 155.0, dq=100.0), _event(3, 155.0)]
    events += [_event(4, 156.0, dq=210.0), _event(5, 154.0, dq=210.0)]
    groups = group_events(events)
    assert [(g.count, g.mean_dq) for g in groups] == [(5, None)]


_steps = st.lists(
    st.tuples(
        st.floats(-5000.0, 5000.0).filter(lambda dp: abs(dp) >= 1.0),
        st.one_of(st.none(), st.floats(-2000.0, 2000.0)),
    ),
    max_size=60,
)


@given(_steps)
def test_every_unidentified_event_is_in_exactly_one_group_of_its_kind(
    steps: list[tuple[float, float | None]],
) -> None:
    events = [_event(k, dp, dq=dq) for k, (dp, dq) in enumerate(steps)]
    groups = group_events(events)
    members = [event_id for g in groups for event_id in g.event_ids]
    assert sorted(members) == sorted(e.id for e in events)
    kinds = {e.id: e.kind for e in events}
    for group in groups:
        assert len({kinds[event_id] for event_id in group.event_ids}) == 1
        assert group.count == len(group.event_ids)
