"""The bounded event store."""

from __future__ import annotations

import pytest

from custom_components.nilm.engine import UnknownEventError
from custom_components.nilm.engine.eventlog import MAX_KEPT_EVENTS, EventLog
from custom_components.nilm.engine.model import Event


def _event(k: int, status: str = "unidentified") -> Event:
    return Event(id=f"e{k}", t=float(k), dp=100.0, kind="on", status=status)  # type: ignore[arg-type]


def test_select_get_after_and_since() -> None:
    log = EventLog(max_pending=10)
    for k, status in enumerate(["unidentified", "labeled", "identified", "ignored"]):
        log.add(_event(k, status))
    assert [e.id for e in log.select("pending")] == ["e0"]
    assert [e.id for e in log.select("labeled")] == ["e1"]
    assert [e.id for e in log.select("all")] == ["e3", "e2", "e1", "e0"]
    assert [e.id for e in log.after(log.get("e1"))] == ["e2", "e3"]
    assert [e.id for e in log.since(1.0)] == ["e2", "e3"]
    assert log.since(3.0) == []
    assert log.last() is not None
    # Views are copies: editing one changes nothing stored.
    log.select("all")[0].status = "labeled"
    assert log.get("e3").status == "ignored"
    with pytest.raises(UnknownEventError):
        log.get("e99")
    with pytest.raises(ValueError, match="unknown event kind"):
        log.select("odd")


def test_bounds_hold_and_the_oldest_go_first() -> None:
    log = EventLog(max_pending=50)
    for k in range(1000):
        log.add(_event(k))
        assert log.pending_count <= 50
    assert log.get("e999").id == "e999"
    with pytest.raises(UnknownEventError):
        log.get("e0")
    for k in range(1000, 1000 + 3 * MAX_KEPT_EVENTS):
        log.add(_event(k, "identified"))
    assert len(log) <= 50 + MAX_KEPT_EVENTS


def test_recount_follows_status_changes() -> None:
    log = EventLog(max_pending=10)
    log.add(_event(1))
    log.add(_event(2))
    log.get("e1").status = "labeled"
    log.recount()
    assert log.pending_count == 1
