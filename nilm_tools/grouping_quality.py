"""How well the groups a user is offered to label hold one appliance each (a diagnostic of scripts/evaluate).

`nilm.list_events` offers the unidentified events in groups of similar steps, each to be named with one label.
A group of two appliances' events teaches one of them the other's steps; a group split in two costs one more
label. Judged by the ground truth: the share of events in their group's most common source (purity), and the
events named right if the user labeled the largest groups with their most common appliance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from custom_components.nilm.engine import Event, EventGroup

if TYPE_CHECKING:
    from .evaluate import TruthEvent

# Groups shown, and the numbers of largest groups whose labeling is counted.
SHOWN = 10
LABELED = (3, 10)


def group_quality(
    groups: Iterable[EventGroup],
    events: Iterable[Event],
    truth_of: Callable[[Event], TruthEvent | None],
) -> dict[str, Any]:
    """Purity of the groups, events named right by labeling the largest ones, and the largest groups."""
    by_id = {event.id: event for event in events}
    rows: list[dict[str, Any]] = []
    for group in groups:
        sources: Counter[str | None] = Counter()
        for event_id in group.event_ids:
            truth = truth_of(by_id[event_id])
            sources[truth.appliance if truth is not None else None] += 1
        rows.append(
            {
                "step": group.mean_dp,
                "reactive_step": group.mean_dq,
                "count": group.count,
                "sources": sources,
            }
        )
    total = sum(row["count"] for row in rows)
    majority = [row["sources"].most_common(1)[0] for row in rows]
    # Labeling a group whose events are mostly nobody's (no ground truth) names nothing right.
    right = [count if source is not None else 0 for source, count in majority]
    return {
        "pending": len(by_id),
        "groups": len(rows),
        "purity": sum(count for _, count in majority) / total if total else float("nan"),
        "named_right": {str(k): sum(right[:k]) for k in LABELED},
        "largest": [{**row, "sources": _sources(row["sources"])} for row in rows[:SHOWN]],
    }


def _sources(sources: Counter[str | None]) -> dict[str, int]:
    return {name or "(none)": count for name, count in sources.most_common()}


def format_groups(quality: Mapping[str, Any]) -> str:
    """The groups a user would be offered at the end of the test period, and how pure they are."""
    counts = " / ".join(quality["named_right"])
    named = " / ".join(str(n) for n in quality["named_right"].values())
    header = (
        f"groups of the {quality['pending']} unidentified events: {quality['groups']}, purity "
        f"{quality['purity']:.3f}; labeling the largest {counts} with their most common appliance "
        f"names {named} right"
    )
    lines = [header]
    for row in quality["largest"]:
        reactive = "" if row["reactive_step"] is None else f" {row['reactive_step']:+.0f} var"
        make_up = ", ".join(f"{name} {count}" for name, count in row["sources"].items())
        lines.append(f"  {row['step']:+8.0f} W{reactive} x{row['count']}: {make_up}")
    return "\n".join(lines)
