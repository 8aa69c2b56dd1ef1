"""The bounded store of events: what the user can still label, relabel or ignore.

Unidentified events wait for a label up to a bound; identified, labeled and ignored ones are kept for
relabeling up to another. Trimming drops the oldest in chunks, so memory stays flat over months of events
while each new event costs O(1).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import replace

from .model import Event, UnknownEventError

# Identified and labeled events kept for relabeling, besides the bounded pending ones.
MAX_KEPT_EVENTS = 2000
# Trimming keeps this share of each bound, so it runs once per many events, not on each one.
TRIM_TO = 0.9
KINDS = {
    "pending": ("unidentified",),
    "labeled": ("labeled",),
    "all": ("identified", "unidentified", "labeled", "ignored"),
}


class EventLog:
    """Events in time order, by id, with a cheap count of the pending (unidentified) ones."""

    def __init__(self, max_pending: int) -> None:
        """Empty, holding at most `max_pending` unidentified events."""
        self.max_pending = max_pending
        self._events: OrderedDict[str, Event] = OrderedDict()
        self.pending_count = 0

    def __len__(self) -> int:
        """How many events are kept."""
        return len(self._events)

    def __iter__(self) -> Iterator[Event]:
        """Events, oldest first."""
        return iter(self._events.values())

    def add(self, event: Event) -> None:
        """Keep a new event (the newest)."""
        self._events[event.id] = event
        if event.status == "unidentified":
            self.pending_count += 1
        if self.pending_count > self.max_pending or len(self._events) > (
            self.max_pending + MAX_KEPT_EVENTS
        ):
            self._trim()

    def get(self, event_id: str) -> Event:
        """The event with this id; raises UnknownEventError if never seen or forgotten."""
        event = self.find(event_id)
        if event is None:
            raise UnknownEventError(f"no event {event_id!r}")
        return event

    def find(self, event_id: str) -> Event | None:
        """The event with this id, or None if never seen or forgotten."""
        return self._events.get(event_id)

    def last(self) -> Event | None:
        """The newest event, if any."""
        return next(reversed(self._events.values()), None)

    def after(self, event: Event) -> list[Event]:
        """Events later than this one, oldest first."""
        return [e for e in self._events.values() if e.t > event.t]

    def since(self, t: float) -> list[Event]:
        """Events later than t, oldest first (read from the newest end: t is usually recent)."""
        found: list[Event] = []
        for event in reversed(self._events.values()):
            if event.t <= t:
                break
            found.append(event)
        return found[::-1]

    def select(self, kind: str) -> list[Event]:
        """Copies of the pending, labeled or all events, newest first."""
        wanted = KINDS.get(kind)
        if wanted is None:
            raise ValueError(f"unknown event kind {kind!r}")
        return [
            replace(e, candidates=list(e.candidates))
            for e in reversed(self._events.values())
            if e.status in wanted
        ]

    def recount(self) -> None:
        """Recount the pending events after statuses changed outside the event stream."""
        self.pending_count = sum(1 for e in self._events.values() if e.status == "unidentified")

    def _trim(self) -> None:
        """Forget the oldest events beyond the bounds, leaving room for a batch of new ones."""
        pending = [e.id for e in self._events.values() if e.status == "unidentified"]
        others = [e.id for e in self._events.values() if e.status != "unidentified"]
        keep_pending = int(self.max_pending * TRIM_TO)
        for event_id in pending[: max(0, len(pending) - keep_pending)]:
            del self._events[event_id]
        for event_id in others[: max(0, len(others) - int(MAX_KEPT_EVENTS * TRIM_TO))]:
            del self._events[event_id]
        self.pending_count = min(len(pending), keep_pending)
