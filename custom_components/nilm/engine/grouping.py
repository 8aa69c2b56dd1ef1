"""Grouping of unidentified events with similar steps, so a user names fourteen events with one label."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Event, EventGroup

# Two steps belong together when they differ by less than this share of their size (plus a floor in W).
RELATIVE_TOLERANCE = 0.08
FLOOR_W = 20.0
# Steps of one size whose reactive parts fall into clusters further apart than this (var, or this share of
# the step) are two loads: a washer's drum and a fridge's start both add 155 W, one 210 var, the other 100.
# A meter that reports |Q| scatters one load's reactive steps where the house's net Q crosses zero; a gap
# this wide, with at least MIN_SIDE events on each side, is what scatter seldom leaves.
REACTIVE_GAP_VAR = 40.0
REACTIVE_GAP_SHARE = 0.2
MIN_SIDE = 2


def group_events(events: Iterable[Event]) -> list[EventGroup]:
    """Cluster unidentified events by step size (ON and OFF apart), then by reactive step; largest first."""
    by_kind: dict[str, list[Event]] = {"on": [], "off": []}
    for event in events:
        if event.status == "unidentified":
            by_kind[event.kind].append(event)
    groups: list[EventGroup] = []
    for members in by_kind.values():
        members.sort(key=lambda e: abs(e.dp))
        cluster: list[Event] = []
        for event in members:
            if cluster:
                center = _size(cluster)
                if abs(abs(event.dp) - center) > RELATIVE_TOLERANCE * center + FLOOR_W:
                    groups += _by_reactive_step(cluster)
                    cluster = []
            cluster.append(event)
        if cluster:
            groups += _by_reactive_step(cluster)
    groups.sort(key=lambda g: (-g.count, g.id))
    return groups


def _by_reactive_step(cluster: list[Event]) -> list[EventGroup]:
    """Steps of one size, one group per cluster of their reactive parts (one group if any is unknown)."""
    reactive = {e.id: e.dq for e in cluster if e.dq is not None}
    if len(reactive) < len(cluster):
        return [_group(cluster)]
    ordered = sorted(cluster, key=lambda e: reactive[e.id])
    values = [reactive[e.id] for e in ordered]
    gap = max(REACTIVE_GAP_VAR, REACTIVE_GAP_SHARE * _size(cluster))
    return [_group(part) for part in _split_at_gaps(ordered, values, gap)]


def _size(cluster: list[Event]) -> float:
    """The steps' mean size (|dP|)."""
    return sum(abs(e.dp) for e in cluster) / len(cluster)


def _split_at_gaps(ordered: list[Event], values: list[float], gap: float) -> list[list[Event]]:
    """Split steps sorted by their reactive parts (`values`) at the widest gap, while it is wider than `gap`."""
    # Cuts after the k-th step that leave MIN_SIDE steps on each side.
    cuts = range(MIN_SIDE - 1, len(ordered) - MIN_SIDE)
    widest = max(cuts, key=lambda k: values[k + 1] - values[k], default=None)
    if widest is None or values[widest + 1] - values[widest] <= gap:
        return [ordered]
    cut = widest + 1
    return _split_at_gaps(ordered[:cut], values[:cut], gap) + _split_at_gaps(
        ordered[cut:], values[cut:], gap
    )


def _group(cluster: list[Event]) -> EventGroup:
    ordered = sorted(cluster, key=lambda e: e.t)
    reactive = [e.dq for e in cluster if e.dq is not None]
    return EventGroup(
        # The oldest member names the group, so the id stays put while new events join it.
        id=f"g{ordered[0].id}",
        mean_dp=sum(e.dp for e in cluster) / len(cluster),
        count=len(cluster),
        event_ids=tuple(e.id for e in ordered),
        first_t=ordered[0].t,
        last_t=ordered[-1].t,
        mean_dq=sum(reactive) / len(reactive) if len(reactive) == len(cluster) else None,
    )
