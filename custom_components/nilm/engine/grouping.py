"""Grouping of unidentified events with similar steps, so a user names fourteen events with one label."""

from __future__ import annotations

from collections.abc import Iterable

from .model import Event, EventGroup

# Two steps belong together when they differ by less than this share of their size (plus a floor in W).
RELATIVE_TOLERANCE = 0.08
FLOOR_W = 20.0


def group_events(events: Iterable[Event]) -> list[EventGroup]:
    """Cluster unidentified events by step size (ON and OFF apart), largest groups first."""
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
                center = sum(abs(e.dp) for e in cluster) / len(cluster)
                if abs(abs(event.dp) - center) > RELATIVE_TOLERANCE * center + FLOOR_W:
                    groups.append(_group(cluster))
                    cluster = []
            cluster.append(event)
        if cluster:
            groups.append(_group(cluster))
    groups.sort(key=lambda g: (-g.count, g.id))
    return groups


def _group(cluster: list[Event]) -> EventGroup:
    ordered = sorted(cluster, key=lambda e: e.t)
    return EventGroup(
        # The oldest member names the group, so the id stays put while new events join it.
        id=f"g{ordered[0].id}",
        mean_dp=sum(e.dp for e in cluster) / len(cluster),
        count=len(cluster),
        event_ids=tuple(e.id for e in ordered),
    )
