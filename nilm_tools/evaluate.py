"""scripts/evaluate: the evaluation contract (docs in README "Accuracy and speed").

NILM-CSV in; the engine starts empty and is fed the mains like Home Assistant feeds it; during the labeling period
a simulated user labels detected events from the ground truth through Engine.label_event (the call behind the
`nilm.label_event` action), at most K per appliance; then the engine runs on its own. Out: event-detection
precision/recall/F1, per-appliance state F1, switch F1, NEP and energy ratio, a readable table, optional
predictions CSV and metrics JSON.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import reduce
import json
import math
from pathlib import Path
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from custom_components.nilm.engine import CombinatorialEngine, Engine, EngineConfig, Event
from custom_components.nilm.engine.classifier import inrush_feature
from custom_components.nilm.engine.detector import Detector
from custom_components.nilm.engine.state import MAX_NAME_LENGTH

from .grouping_quality import format_groups, group_quality
from .nilm_csv import DataError, Dataset, PowerArray, read_nilm_csv
from .trace import Trace, format_trace

type FloatArray = NDArray[np.float64]

EVENT_MIN_W = 50.0
# The smallest change a labeling user attributes to an appliance: the ON floor of the state metric. Lamps and
# standby loads switch by 20-50 W; below the event metric's 50 W they still get labels and are scored.
LABEL_MIN_W = 20.0
PERSIST_SAMPLES = 3
# Said with every score of a run that labeled every test-period event (`label_every_event`).
NAMING_PERFECT = "test-period events labeled from the ground truth: naming perfect (a diagnostic, not the contract)"
# The contract's macro averages count an appliance with at least this many ON events in the test period.
MACRO_MIN_ON_EVENTS = 3
# A labeled start counts as showing an inrush when its overshoot is at least its step: the engine's inrush
# feature of an overshoot the step's own size.
INRUSH_SHOWN = inrush_feature(1.0, 1.0)
# A sub-meter's reading holds until its next one when they are less than this many of its usual intervals apart.
HOLD_INTERVALS = 2.0
LABEL_BATCH = 5
TEST_BATCH = 3600
PREDICTION_BLOCK = 100_000


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """A change of one appliance's ground-truth power that persists."""

    t: float
    index: int
    appliance: str
    dp: float


def truth_events(
    t: FloatArray,
    power: PowerArray,
    appliance: str,
    min_w: float = EVENT_MIN_W,
    above_spread: bool = False,
) -> list[TruthEvent]:
    """Changes of >= min_w between levels that then hold for at least 3 samples.

    above_spread: the change must also exceed the spread of the samples on either side (a heater's reading
    dithering 1,020-1,080 W makes 3-sample means 20 W apart, which is no switch).

    A change that overshoots (a motor's inrush decaying over seconds: 625, 374, 246, 180 W, ... down to
    110 W) holds only after it settled, but it began at the overshoot: the event is timed there.
    """
    # Missing readings stay NaN: a window holding one is never a level, so no change is measured across them.
    x = power
    n = x.size
    events: list[TruthEvent] = []
    if n < PERSIST_SAMPLES:
        return events
    level, spread = float(x[0]), 0.0
    previous = 0
    means, spreads, steady = _levels(x)
    # A change is a row whose reading moved and from which a level of PERSIST_SAMPLES readings fits.
    rows = np.flatnonzero(np.abs(np.diff(x[: n - PERSIST_SAMPLES + 1])) >= min_w / 2) + 1
    # The level just before each row and the one from it, gathered at once (a noisy column moves every few
    # rows, and a loop indexing arrays row by row took seconds per million rows).
    before = np.maximum(rows - PERSIST_SAMPLES, 0)
    calm_before = ((rows >= PERSIST_SAMPLES) & steady[before]).tolist()
    for k, calm, mean_before, spread_before, new_level, new_spread, calm_after in zip(
        rows.tolist(),
        calm_before,
        means[before].tolist(),
        spreads[before].tolist(),
        means[rows].tolist(),
        spreads[rows].tolist(),
        steady[rows].tolist(),
        strict=True,
    ):
        if calm:
            # A load that crept (a TV's brightness, a heater warming) is measured from where it was just
            # before, not from its level at the last event.
            level, spread = mean_before, spread_before
        dp = new_level - level
        if not abs(dp) >= min_w or not calm_after:  # NaN-safe: a level across a gap
            continue
        if above_spread and abs(dp) <= max(spread, new_spread):
            continue
        start = k
        while start - 1 > previous and (x[start - 1] - new_level) * np.sign(dp) > 0:
            start -= 1
        events.append(TruthEvent(float(t[start]), start, appliance, dp))
        level, spread = new_level, new_spread
        previous = k
    return events


def hold_between_readings(t: FloatArray, power: PowerArray, usual: float) -> None:
    """Fill, in place, the empty cells of a sub-meter read more coarsely than the mains with its last reading.

    Real data sets meter the mains every second and appliances every 3-8 s (or on timestamps of their own), so
    most of an appliance's cells are empty. Each reading holds until the next one (as a plug meter's does)
    where the two are less than HOLD_INTERVALS of the column's `usual` interval (`reading_period`) apart;
    across a longer gap the cells stay missing. A column read with every row is left as it is (one missing
    reading is a gap), and filling again with the same interval changes nothing. In place: a house of fifty
    sub-meters over years of 6 s readings holds gigabytes of ground truth, which a filled copy would double.
    """
    have = np.isfinite(power)
    if have.all():
        return
    readings = np.flatnonzero(have)
    if readings.size < 2:
        return
    rows = np.arange(power.size)
    previous = np.maximum.accumulate(np.where(have, rows, -1))
    following = readings[np.minimum(np.searchsorted(readings, rows), readings.size - 1)]
    held = ~have & (previous >= 0) & (following > rows)
    held &= t[following] - t[np.maximum(previous, 0)] < HOLD_INTERVALS * usual
    power[held] = power[previous[held]]


def reading_period(t: FloatArray, power: PowerArray) -> float:
    """The usual interval between a column's readings (its empty cells left out)."""
    readings = t[np.isfinite(power)]
    return float(np.median(np.diff(readings))) if readings.size > 1 else 0.0


def _levels(x: PowerArray) -> tuple[PowerArray, PowerArray, NDArray[np.bool_]]:
    """Mean and spread of the PERSIST_SAMPLES readings from each row, and whether they make one level.

    One level: within 50 W, or 10 % of a large level. Computed for all rows at once (a noisy column has a
    candidate change every few rows); a window holding a missing reading is never steady. The sum runs in
    the column's precision and in reading order, as the window's own mean would.
    """
    shifted = [x[k : x.size - PERSIST_SAMPLES + 1 + k] for k in range(PERSIST_SAMPLES)]
    means = reduce(np.add, shifted) / np.float32(PERSIST_SAMPLES)
    spreads = reduce(np.maximum, shifted) - reduce(np.minimum, shifted)
    limit = np.maximum(EVENT_MIN_W, 0.1 * np.abs(means.astype(np.float64)))
    return means, spreads, spreads.astype(np.float64) <= limit


def match_one_to_one(a: list[float], b: list[float], tolerance: float) -> int:
    """How many of a and b pair up within the tolerance, each used once (closest pairs first)."""
    if not a or not b:
        return 0
    arr_b = np.array(sorted(b))
    pairs: list[tuple[float, int, int]] = []
    for i, ta in enumerate(a):
        lo = int(np.searchsorted(arr_b, ta - tolerance, side="left"))
        hi = int(np.searchsorted(arr_b, ta + tolerance, side="right"))
        pairs.extend((abs(ta - arr_b[j]), i, j) for j in range(lo, hi))
    pairs.sort()
    used_a: set[int] = set()
    used_b: set[int] = set()
    for _, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return len(used_a)


def prf(matched: int, n_pred: int, n_true: int) -> dict[str, float]:
    """Precision, recall and F1."""
    precision = matched / n_pred if n_pred else 0.0
    recall = matched / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def switchings(
    t: FloatArray, on: NDArray[np.bool_], joined: NDArray[np.bool_] | None = None
) -> tuple[list[float], list[float]]:
    """Times of OFF->ON and ON->OFF changes that then hold for at least 3 samples.

    Where `joined` is false a row does not follow the one before it (readings were missing between): a
    change there, or one that holds only across such a break, is no switch, since when it happened is unknown.
    """
    changes = np.flatnonzero(on[1:] != on[:-1]) + 1
    ups: list[float] = []
    downs: list[float] = []
    for k in changes.tolist():
        window = on[k : k + PERSIST_SAMPLES]
        if joined is not None and not joined[k : k + PERSIST_SAMPLES].all():
            continue
        if window.size == PERSIST_SAMPLES and (window == on[k]).all():
            (ups if on[k] else downs).append(float(t[k]))
    return ups, downs


def lost_rows(
    columns: Iterable[tuple[str, PowerArray, PowerArray, float]],
    t: FloatArray,
    switches: NamedSwitches,
) -> dict[str, Any]:
    """Per appliance, the rows it lost (ON in truth, OFF in the estimate), who took them, how each run began.

    `columns`: (appliance, truth, estimate, the state metric's ON threshold) over the same rows at times `t`,
    taken one at a time (only their ON masks are kept). `taken_by` counts, per other appliance, the lost rows
    in which that one was estimated ON while OFF in truth: the look-alike credited instead. A row whose truth
    is missing is neither. `began_by` charges each run of lost rows to how it began: "not followed" (the
    appliance came on and the estimate did not: its ON missed or named another), or, where the estimate had
    it on and let it go during the true run, as `false_rows` charges an end ("its OFF", "another event", "no
    event", "below threshold"); "test start" if it was lost from the first row.
    """
    lost: dict[str, NDArray[np.bool_]] = {}
    false_on: dict[str, NDArray[np.bool_]] = {}
    began: dict[str, Counter[str]] = {}
    for name, truth, estimate, threshold in columns:
        lost[name] = (truth >= threshold) & ~(estimate >= threshold)
        false_on[name] = _wrongly_on(truth, estimate, threshold)
        falls = _Falls(t, estimate, switches.offs.get(name), switches.times)
        began[name] = Counter()
        for k, length in _runs(lost[name]):
            if k == 0:
                cause = "test start"
            elif not truth[k - 1] >= threshold:
                cause = "not followed"
            else:
                cause = falls.cause(k)
            began[name][cause] += length
    result: dict[str, Any] = {}
    for name, rows in lost.items():
        taken = {
            other: int((rows & wrong).sum()) for other, wrong in false_on.items() if other != name
        }
        result[name] = {
            "lost": int(rows.sum()),
            "taken_by": dict(sorted(((o, n) for o, n in taken.items() if n), key=lambda i: -i[1])),
            "began_by": dict(began[name].most_common()),
        }
    return result


def _runs(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """The runs of true rows of a mask: (first row, length)."""
    rows = np.flatnonzero(mask)
    if not rows.size:
        return []
    first = np.flatnonzero(np.diff(rows, prepend=rows[0] - 2) > 1)
    lengths = np.diff(np.append(first, rows.size))
    return list(zip(rows[first].tolist(), lengths.tolist(), strict=True))


@dataclass(frozen=True, slots=True)
class NamedSwitches:
    """What the test period's events said, for charging false runs: ONs and OFFs named each appliance.

    `ons`: per appliance, (time, the appliance whose change the ground truth shows there, "none" if no
    appliance's) in time order. `offs`: per appliance, the times of OFFs named it. `times`: every event's
    time, sorted.
    """

    ons: dict[str, list[tuple[float, str]]]
    offs: dict[str, FloatArray]
    times: FloatArray


def false_rows(
    columns: Iterable[tuple[str, PowerArray, PowerArray, float]],
    t: FloatArray,
    switches: NamedSwitches,
) -> dict[str, Any]:
    """Per appliance, the rows it was estimated ON while OFF in truth: whose ON started each run, what ended it.

    `columns` as for `lost_rows`, over the rows at times `t`. A false run is charged to the last ON named the
    appliance at or before its first row: another appliance's ON taken for this one, or its own ON whose OFF
    was missed. Runs with no ON before them (switched on in the labeling period) count as "earlier". Each
    run's end (`ended_by`), where the estimate next falls to nothing: "its OFF" (an OFF named it since the
    row before), "another event" (an event of something else: at each step the tracker checks what runs
    against the mains), "no event" (a deadline: its timeout, or its run handed to a look-alike), or "test end";
    or, in the row after it, "truly on" (the appliance came on) or "truth missing".
    """
    result: dict[str, Any] = {}
    for name, truth, estimate, threshold in columns:
        wrong = _wrongly_on(truth, estimate, threshold)
        by_source: Counter[str] = Counter()
        by_end: Counter[str] = Counter()
        ons = switches.ons.get(name, [])
        times = np.array([on_t for on_t, _ in ons])
        falls = _Falls(t, estimate, switches.offs.get(name), switches.times)
        for k, length in _runs(wrong):
            j = int(np.searchsorted(times, t[k], side="right")) - 1
            by_source[ons[j][1] if j >= 0 else "earlier"] += length
            by_end[_run_end(k + length, truth, estimate, threshold, falls)] += length
        result[name] = {
            "false": int(wrong.sum()),
            "started_by": dict(by_source.most_common()),
            "ended_by": dict(by_end.most_common()),
        }
    return result


def _run_end(
    after: int, truth: PowerArray, estimate: PowerArray, threshold: float, falls: _Falls
) -> str:
    """What ended a false run, from the row after it (see `false_rows`).

    A run that only fell under the threshold (a smaller state of it, or its share of a mains that held less
    than all that runs) is followed to where the estimate ended it.
    """
    if after < truth.size and not np.isfinite(truth[after]):
        return "truth missing"
    if after < truth.size and estimate[after] >= threshold:
        return "truly on"
    end = falls.next_off(after)
    return "test end" if end is None else falls.cause(end)


class _Falls:
    """What made an appliance's estimate fall at a row: an OFF named it, another event, or none."""

    def __init__(
        self, t: FloatArray, estimate: PowerArray, offs: FloatArray | None, times: FloatArray
    ) -> None:
        """The appliance's estimate over the rows at times `t`, and the events that may have moved it."""
        self.t, self.estimate = t, estimate
        self.offs = np.empty(0) if offs is None else offs
        self.times = times
        self.off_rows = np.flatnonzero(estimate <= 0.0)

    def next_off(self, row: int) -> int | None:
        """The first row from this one where the estimate has the appliance off, if any."""
        k = int(np.searchsorted(self.off_rows, row))
        return None if k == self.off_rows.size else int(self.off_rows[k])

    def cause(self, row: int) -> str:
        """Why the estimate at this row is below what it was, the row before.

        "below threshold" if it still has the appliance on, else the event since the row before ("its OFF",
        "another event") or "no event".
        """
        if self.estimate[row] > 0.0:
            return "below threshold"
        # An event's estimate holds from its own row (the fixed-lag estimate): it came since the row before.
        if _between(self.offs, self.t[row - 1], self.t[row]):
            return "its OFF"
        return "another event" if _between(self.times, self.t[row - 1], self.t[row]) else "no event"


def _between(times: FloatArray, start: float, end: float) -> bool:
    """Whether any of these sorted times lies in (start, end]."""
    found = np.searchsorted(times, [start, end], side="right")
    return bool(found[1] > found[0])


def _wrongly_on(truth: PowerArray, estimate: PowerArray, threshold: float) -> NDArray[np.bool_]:
    """Rows estimated ON whose truth is known and OFF (a missing truth reading is neither)."""
    wrong: NDArray[np.bool_] = np.isfinite(truth) & (truth < threshold) & (estimate >= threshold)
    return wrong


def named_switches(
    events: list[Event],
    names: dict[str, str],
    truth_of: Callable[[Event], TruthEvent | None],
) -> NamedSwitches:
    """The test period's ONs and OFFs per appliance column, and when any event happened."""
    ons: dict[str, list[tuple[float, str]]] = {}
    offs: dict[str, list[float]] = {}
    for event in events:
        named = names.get(event.appliance_id or "")
        if event.status not in ("identified", "labeled") or named is None:
            continue
        if event.kind == "on":
            truth = truth_of(event)
            ons.setdefault(named, []).append(
                (event.t, "none" if truth is None else truth.appliance)
            )
        else:
            offs.setdefault(named, []).append(event.t)
    return NamedSwitches(
        ons,
        {name: np.sort(np.array(times)) for name, times in offs.items()},
        np.sort(np.array([event.t for event in events], dtype=np.float64)),
    )


def in_macro(appliance: dict[str, Any]) -> bool:
    """Whether an appliance's metrics count in the macro averages."""
    return bool(appliance["true_on_events"] >= MACRO_MIN_ON_EVENTS)


def appliance_metrics(
    t: FloatArray, truth: PowerArray, estimate: PowerArray, tolerance: float
) -> dict[str, float]:
    """State F1, switch F1, NEP and energy ratio of one appliance over the test period.

    A missing truth reading (a plug meter offline) is unknown, not 0 W: only rows with a known truth are
    scored, each with its own interval.
    """
    dt = np.diff(t, append=t[-1])
    rows = np.flatnonzero(np.isfinite(truth))
    joined = np.diff(rows, prepend=rows[0] - 1 if rows.size else 0) == 1
    t, truth, estimate, dt = t[rows], truth[rows], estimate[rows], dt[rows]
    above = truth[truth > 20.0]
    threshold = max(20.0, 0.5 * float(np.median(above))) if above.size else 20.0
    on_true, on_est = truth >= threshold, estimate >= threshold
    tp = int((on_true & on_est).sum())
    state = prf(tp, int(on_est.sum()), int(on_true.sum()))
    up_t, down_t = switchings(t, on_true, joined)
    up_e, down_e = switchings(t, on_est, joined)
    matched = match_one_to_one(up_e, up_t, tolerance) + match_one_to_one(down_e, down_t, tolerance)
    switch = prf(matched, len(up_e) + len(down_e), len(up_t) + len(down_t))
    true_energy = float(np.dot(truth, dt))
    return {
        "threshold_w": threshold,
        "state_f1": state["f1"],
        "state_precision": state["precision"],
        "state_recall": state["recall"],
        "switch_f1": switch["f1"],
        "nep": float(np.dot(np.abs(estimate - truth), dt)) / true_energy
        if true_energy > 0
        else float("nan"),
        "energy_ratio": float(np.dot(estimate, dt)) / true_energy
        if true_energy > 0
        else float("nan"),
        "true_on_events": len(up_t),
    }


def evaluate(
    data: Dataset,
    *,
    train_fraction: float,
    labels_per_appliance: int,
    tolerance_s: float | None,
    method: str,
    progress: bool,
    label_every_event: bool = False,
    trace: Trace | None = None,
) -> tuple[dict[str, Any], FloatArray, dict[str, PowerArray]]:
    """Run the protocol; returns the metrics, the test-period timestamps and the estimated powers.

    With `label_every_event` (a diagnostic outside the contract), after the labeling period every event the
    ground truth explains is labeled too: the score with the test period's naming perfect, what the tracking
    and the detector reach from the same labeling period. Sub-meter columns read more coarsely than the mains
    are filled in place (`hold_between_readings`): read the file again to evaluate it again. With `trace`, the
    metrics also hold each event of its window as `trace` records it.
    """
    t_all = data.t
    usable = np.isfinite(data.mains["mains_p"])
    usable[1:] &= np.diff(t_all) > 0
    # The mains' own period: rows that only carry sub-meter readings (a union of timestamps) are not readings
    # of the meter being disaggregated.
    mains_t = t_all[usable]
    period = float(np.median(np.diff(mains_t))) if mains_t.size > 1 else 1.0
    reading_periods = [reading_period(t_all, power) for power in data.appliances.values()]
    # A change in a sub-meter read every 6 s is known to within 6 s, however often the mains is read.
    truth_period = float(np.median(reading_periods))
    tolerance = (
        tolerance_s if tolerance_s is not None else max(3.0, 1.5 * period, 1.5 * truth_period)
    )
    for power, usual in zip(data.appliances.values(), reading_periods, strict=True):
        hold_between_readings(t_all, power, usual)
    split = int(train_fraction * t_all.size)
    # Truth and scores cover the rows the engine can use: a repeated timestamp or a missing mains reading
    # reaches no engine, so its ground truth cannot be judged against one.
    kept = np.flatnonzero(usable)

    def changes(min_w: float, above_spread: bool) -> list[TruthEvent]:
        found = (
            replace(e, index=int(kept[e.index]))
            for name, power in data.appliances.items()
            for e in truth_events(t_all[kept], power[kept], name, min_w, above_spread)
        )
        return sorted(found, key=lambda e: e.t)

    # Who caused an event (labels, identification) is any change a user would see; detection is scored
    # against the contract's >= 50 W events.
    all_truth = changes(LABEL_MIN_W, above_spread=True)
    truth_times = np.array([e.t for e in all_truth])

    def truth_of(event: Event) -> TruthEvent | None:
        return _closest_truth(all_truth, truth_times, event.t, event.dp, tolerance)

    engine = (CombinatorialEngine if method == "co" else Engine)(EngineConfig())
    labels = dict.fromkeys(data.appliances, 0)
    # The engine's appliance behind each column, from the column's first label on.
    appliance_of: dict[str, str] = {}
    estimates = {name: np.zeros(t_all.size - split, np.float32) for name in data.appliances}
    # What was detected: every step the detector confirmed, as it measured it (a settled inrush changes its
    # ON in place, in the same call or a later one, and its fall makes no event), once per appliance the
    # engine split it into. The events for what the engine named them.
    detected: list[tuple[float, float]] = []
    test_events: list[Event] = []
    engine_s = 0.0
    traced: list[dict[str, Any]] = []
    step = max(1, t_all.size // 20)
    next_report = step
    start = 0
    chances = LabelChances(
        all_truth, tolerance, tolerance + Detector.MAX_TRANSITION_S + 10 * period
    )
    while start < t_all.size:
        size = TEST_BATCH
        labeling = start < split or label_every_event
        budget = labels_per_appliance if start < split else math.inf
        if labeling:
            chances.update(frozenset(n for n, k in labels.items() if k < budget))
            chance = chances.next_start(float(t_all[start]))
            # Small batches while a label may come, so it arrives before the next event is classified;
            # elsewhere large ones, ending on the small batches' grid so those are the same batches.
            ahead = int(np.searchsorted(t_all, chance)) - start
            size = max(LABEL_BATCH, min(ahead, TEST_BATCH) // LABEL_BATCH * LABEL_BATCH)
        if trace is not None:
            size = trace.batch(t_all, start, size)
        stop = min(t_all.size, start + size)
        if start < split < stop:
            stop = split
        rows = np.flatnonzero(usable[start:stop]) + start
        powers: dict[str, FloatArray] = {}
        clock = time.perf_counter()
        update = engine.feed_arrays(
            t_all[rows],
            data.mains["mains_p"][rows],
            q=_column(data, "mains_q", rows),
            i=_column(data, "mains_i", rows),
            powers=powers if start >= split else None,
        )
        engine_s += time.perf_counter() - clock
        labeled: set[str] = set()
        if labeling:
            for event in update.events:
                gt = truth_of(event)
                if gt is not None and labels[gt.appliance] < budget:
                    ref = appliance_of.get(gt.appliance) or label_name(
                        gt.appliance, (record.name for record in engine.appliances.values())
                    )
                    appliance_of[gt.appliance] = engine.label_event(event.id, ref).id
                    labels[gt.appliance] += 1
                    labeled.add(event.id)
        if trace is not None:
            traced += trace.record(update, engine, appliance_of, truth_of, labeled)
        if start >= split:
            parts = Counter(event.t for event in update.events)
            for s in update.steps:
                detected.extend([(s.t, s.dp)] * max(1, parts[s.t]))
            test_events.extend(update.events)
            # The readings before this call that a step confirmed in it covers: the last kept rows.
            before = kept[: int(np.searchsorted(kept, start))]
            for name, appliance_id in appliance_of.items():
                column = powers.get(appliance_id)
                # Rows are pre-filtered, so the engine keeps them all and its columns line up with them.
                if column is not None and column.size == rows.size:
                    estimates[name][rows - split] = column
                earlier = update.backfill.get(appliance_id)
                if earlier is not None:
                    back = before[max(0, before.size - earlier.size) :]
                    estimates[name][back[back >= split] - split] = earlier[back >= split]
        start = stop
        if progress and start >= next_report:
            print(
                f"evaluate: {100 * start // t_all.size} % ({start:,} of {t_all.size:,} rows)",
                file=sys.stderr,
            )
            next_report += step
    scored_rows = kept[kept >= split]
    truth_test = [e for e in changes(EVENT_MIN_W, above_spread=False) if e.index >= split]
    pred = [t for t, dp in detected if abs(dp) >= EVENT_MIN_W]
    events = prf(
        match_one_to_one(pred, [e.t for e in truth_test], tolerance), len(pred), len(truth_test)
    )
    # Each appliance's truth and estimate over the scored rows, sliced once for every metric below.
    t_scored = t_all[scored_rows]
    sliced = {
        name: (power[scored_rows], estimates[name][scored_rows - split])
        for name, power in data.appliances.items()
    }
    per_appliance = {
        name: {**appliance_metrics(t_scored, truth, estimate, tolerance), "labels": labels[name]}
        for name, (truth, estimate) in sliced.items()
    }
    scored = [m for m in per_appliance.values() if in_macro(m)]
    macro = {
        key: float(np.nanmean([m[key] for m in scored])) if scored else float("nan")
        for key in ("state_f1", "switch_f1", "nep", "energy_ratio")
    }
    names = {appliance_id: name for name, appliance_id in appliance_of.items()}
    switches = named_switches(test_events, names, truth_of)
    columns = [
        (name, truth, estimate, per_appliance[name]["threshold_w"])
        for name, (truth, estimate) in sliced.items()
    ]
    metrics = {
        "method": method,
        "label_every_event": label_every_event,
        "rows": int(t_all.size),
        "test_rows": int(t_all.size - split),
        "median_period_s": period,
        "truth_period_s": truth_period,
        "tolerance_s": tolerance,
        "events": {**events, "true": len(truth_test), "detected": len(pred)},
        "identification": identification(test_events, names, truth_of),
        "appliances": per_appliance,
        "lost_rows": lost_rows(columns, t_scored, switches),
        "false_rows": false_rows(columns, t_scored, switches),
        "macro": {**macro, "appliances": len(scored)},
        "engine_seconds": engine_s,
        "samples_per_second": float(usable.sum() / engine_s) if engine_s > 0 else float("nan"),
    }
    # What a user would be offered to label next, and what the labels taught.
    metrics["groups"] = group_quality(engine.groups(), engine.events("pending"), truth_of)
    metrics["learned"] = learned_states(engine, names)
    if trace is not None:
        metrics["trace"] = traced
    return metrics, t_all[split:], _hold_over(estimates, usable[split:])


class LabelChances:
    """When a detected event may still get a label: near a change of an appliance with labels to give.

    An event is labeled only when the ground-truth change closest to it (within the tolerance) belongs to an
    appliance that has fewer than K labels, and the engine reports it at most the detector's longest
    transition after the change. Between such windows the labeling period can be fed in large batches: the
    engine's output depends on when labels arrive, not on how its rows are batched.
    """

    def __init__(self, truth: list[TruthEvent], before: float, after: float) -> None:
        """Windows [change - before, change + after] around each truth change."""
        self._truth = truth
        self._before, self._after = before, after
        self._starts: FloatArray = np.empty(0)
        self._ends: FloatArray = np.empty(0)
        self._needy: frozenset[str] | None = None

    def update(self, needy: frozenset[str]) -> None:
        """Keep the windows of these appliances only (merged, so they are disjoint and in order)."""
        if needy == self._needy:
            return
        self._needy = needy
        times = np.array([e.t for e in self._truth if e.appliance in needy])
        starts, ends = times - self._before, times + self._after
        # Disjoint: a window starts a new run where it begins after every earlier one ended.
        new_run = np.ones(starts.size, bool)
        new_run[1:] = starts[1:] > np.maximum.accumulate(ends)[:-1]
        runs = np.flatnonzero(new_run)
        self._starts = starts[runs]
        self._ends = np.maximum.reduceat(ends, runs) if runs.size else np.empty(0)

    def next_start(self, t: float) -> float:
        """Where the next window starts: t when inside one, inf when none is left."""
        k = int(np.searchsorted(self._ends, t))
        if k == self._ends.size:
            return math.inf
        start = float(self._starts[k])
        return t if start <= t else start


def label_name(column: str, taken: Iterable[str]) -> str:
    """A column's name as a user could type it for a new appliance.

    One line of at most 64 characters, told apart from the engine's appliances (names match without case):
    columns "Fridge" and "fridge", or two long names alike in their first 64 characters, stay two appliances.
    """
    base = " ".join(column.split())[:MAX_NAME_LENGTH] or "appliance"
    used = {name.casefold() for name in taken}
    name, number = base, 1
    while name.casefold() in used:
        number += 1
        suffix = f" #{number}"
        name = base[: MAX_NAME_LENGTH - len(suffix)] + suffix
    return name


def identification(
    events: list[Event],
    names: dict[str, str],
    truth_of: Callable[[Event], TruthEvent | None],
) -> dict[str, Any]:
    """What the engine made of each test-period event, against the appliance whose change caused it.

    The confusion counts, per true appliance ("none": no appliance changed, e.g. an unmetered load), the
    engine's answer: an appliance name or "unidentified". Accuracy is over events with a true appliance.
    The calibration counts the events the engine named itself by their confidence, in tenths from the
    lowest with any, and how many of them it named right (one named when no appliance changed is wrong).
    """
    confusion: dict[str, dict[str, int]] = {}
    calibration: dict[int, list[int]] = {}
    for event in events:
        truth = truth_of(event)
        named = event.status in ("identified", "labeled")
        said = names.get(event.appliance_id or "", "unidentified") if named else "unidentified"
        row = confusion.setdefault("none" if truth is None else truth.appliance, {})
        row[said] = row.get(said, 0) + 1
        if event.status == "identified":
            tally = calibration.setdefault(min(9, int(event.confidence * 10)), [0, 0])
            tally[0] += 1
            tally[1] += truth is not None and truth.appliance == said
    known = {name: row for name, row in confusion.items() if name != "none"}
    total = sum(sum(row.values()) for row in known.values())
    correct = sum(row.get(name, 0) for name, row in known.items())
    return {
        "accuracy": correct / total if total else float("nan"),
        "confusion": confusion,
        "calibration": [
            {"confidence": tenth / 10, "named": n, "right": right}
            for tenth, (n, right) in sorted(calibration.items())
        ],
    }


def learned_states(engine: Engine, names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Per appliance (by its column), each state the labels taught, as the engine names events by it.

    Its typical ON step and spread (W), how many labeled steps back it, the share of its labeled starts whose
    reading caught an inrush at least the step's size, and its longest run and timeout (s) at the end of the
    file. A state of the wrong size (a dishwasher taught only its pump's steps) or an appliance's start nobody
    labeled shows here before it shows in the scores.
    """
    learned: dict[str, list[dict[str, Any]]] = {}
    for (appliance_id, state), signature in sorted(engine.signatures.items()):
        name = names.get(appliance_id)
        if name is None:
            continue
        profile = signature.on_profile()
        longest = engine.tracker.longest_run_s.get((appliance_id, state))
        learned.setdefault(name, []).append(
            {
                "state": state,
                "step_w": profile.power.centre,
                "spread_w": profile.power.spread,
                "labeled_steps": signature.count,
                "inrush_share": sum(
                    share for value, share in profile.inrush if value >= INRUSH_SHOWN
                ),
                "longest_run_s": longest,
                "timeout_s": engine.tracker.limit_s((appliance_id, state)),
            }
        )
    return dict(sorted(learned.items()))


def format_learned(metrics: dict[str, Any]) -> str:
    """One line per learned state: what an event is named by."""
    lines = [
        (
            "what the labels taught: typical ON step and spread, labeled steps, starts with an inrush, "
            "longest run -> timeout"
        )
    ]
    for name, states in metrics["learned"].items():
        for row in states:
            longest = "-" if row["longest_run_s"] is None else f"{row['longest_run_s']:,.0f} s"
            lines.append(
                f"  {name:<22}{row['state']:<8}{row['step_w']:>8,.0f} W +- {row['spread_w']:<6,.0f}"
                f"{row['labeled_steps']:>3} labeled {row['inrush_share']:>4.0%} inrush "
                f"{longest:>9} -> {row['timeout_s']:,.0f} s"
            )
    return "\n".join(lines)


def format_confusion(metrics: dict[str, Any]) -> str:
    """Per true appliance: what its events were named (the three commonest answers) and who took its rows."""
    ident = metrics["identification"]
    lines = [f"identification of test-period events: {ident['accuracy']:.3f} named correctly"]
    for name, row in sorted(ident["confusion"].items()):
        total = sum(row.values())
        top = sorted(row.items(), key=lambda item: -item[1])[:3]
        answers = ", ".join(f"{said} {count}" for said, count in top)
        lines.append(f"  {name:<22}{total:>6} events -> {answers}")
    lines.append("events the engine named, by confidence -> share named right")
    lines += [
        f"  {tier['confidence']:.1f}-{tier['confidence'] + 0.1:.1f}{tier['named']:>18} events -> "
        f"{tier['right'] / tier['named']:.2f}"
        for tier in ident["calibration"]
    ]
    lines.append(
        "rows lost (ON in truth, OFF in the estimate) -> who was estimated ON wrongly in them"
    )
    lines += _row_counts(metrics["lost_rows"], "lost", "taken_by", "->")
    lines.append("rows lost -> how their runs began (not followed: the ON missed or named another)")
    lines += _row_counts(metrics["lost_rows"], "lost", "began_by", "->")
    lines.append(
        "rows falsely ON (OFF in truth) -> whose ON started them (its own: its OFF was missed)"
    )
    lines += _row_counts(metrics["false_rows"], "false", "started_by", "<-")
    lines.append("rows falsely ON -> what ended their runs (no event: a timeout or a hand-over)")
    lines += _row_counts(metrics["false_rows"], "false", "ended_by", "->")
    return "\n".join(lines)


def _row_counts(table: dict[str, Any], count: str, parts: str, arrow: str) -> list[str]:
    """One line per appliance: its count of rows and the three largest parts of it."""
    lines = []
    for name, row in table.items():
        top = ", ".join(f"{other} {n:,}" for other, n in list(row[parts].items())[:3])
        lines.append(f"  {name:<22}{row[count]:>8,} rows" + (f" {arrow} {top}" if top else ""))
    return lines


def _hold_over(
    estimates: dict[str, PowerArray], usable: NDArray[np.bool_]
) -> dict[str, PowerArray]:
    """Estimates for every row: a row the engine did not use repeats the previous used row's estimate.

    Filled in place (the right side is gathered before it is written), so no second copy is held.
    """
    positions = np.arange(usable.size)
    source = np.maximum.accumulate(np.where(usable, positions, -1))
    has_source = source >= 0
    for column in estimates.values():
        column[has_source] = column[source[has_source]]
    return estimates


def _column(data: Dataset, name: str, rows: NDArray[np.int64]) -> FloatArray | None:
    column = data.mains.get(name)
    return None if column is None else column[rows]


def _closest_truth(
    truth: list[TruthEvent], times: FloatArray, t: float, dp: float, tolerance: float
) -> TruthEvent | None:
    lo, hi = np.searchsorted(times, [t - tolerance, t + tolerance + 1e-9])
    same_sign = [e for e in truth[lo:hi] if (e.dp > 0) == (dp > 0)]
    return min(same_sign, key=lambda e: abs(e.dp - dp), default=None)


def format_table(metrics: dict[str, Any]) -> str:
    """The readable summary."""
    ev = metrics["events"]
    lines = [
        (
            f"method {metrics['method']}: {metrics['rows']:,} rows ({metrics['test_rows']:,} in the test period), "
            f"median period {metrics['median_period_s']:.1f} s"
            + (
                f", sub-meters read every {metrics['truth_period_s']:.1f} s"
                if metrics["truth_period_s"] > metrics["median_period_s"]
                else ""
            )
            + f", tolerance {metrics['tolerance_s']:.1f} s"
        ),
        (
            f"event detection (|dP| >= 50 W): precision {ev['precision']:.3f}  recall {ev['recall']:.3f}  "
            f"F1 {ev['f1']:.3f}  ({ev['detected']} detected, {ev['true']} true)"
        ),
        "",
        f"{'appliance':<24}{'labels':>7}{'ON events':>10}{'state F1':>10}{'switch F1':>10}{'NEP':>8}{'energy':>8}",
    ]
    if metrics.get("label_every_event"):
        lines.insert(2, NAMING_PERFECT)
    for name, m in metrics["appliances"].items():
        lines.append(
            f"{name:<24}{m['labels']:>7}{m['true_on_events']:>10}{m['state_f1']:>10.3f}{m['switch_f1']:>10.3f}"
            f"{m['nep']:>8.3f}{m['energy_ratio']:>8.3f}"
        )
    macro = metrics["macro"]
    lines += [
        (
            f"{'macro (' + str(macro['appliances']) + ' appliances)':<41}{macro['state_f1']:>10.3f}"
            f"{macro['switch_f1']:>10.3f}{macro['nep']:>8.3f}{macro['energy_ratio']:>8.3f}"
        ),
        f"engine: {metrics['engine_seconds']:.2f} s, {metrics['samples_per_second']:,.0f} samples/s",
    ]
    return "\n".join(lines)


def write_predictions(path: Path, t: FloatArray, estimates: dict[str, PowerArray]) -> None:
    """Predictions CSV: timestamp and each appliance's estimated power, one row per test-period row.

    Written in blocks of rows, so the table is never built whole (years of data, dozens of appliances).
    """
    names = list(estimates)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(",".join(["timestamp", *names]) + "\n")
        for start in range(0, t.size, PREDICTION_BLOCK):
            block = slice(start, start + PREDICTION_BLOCK)
            table = np.column_stack([t[block], *(estimates[n][block] for n in names)])
            np.savetxt(handle, table, delimiter=",", fmt=["%.3f"] + ["%.1f"] * len(names))


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    """The contract's options and its naming-perfect diagnostic (shared with scripts/evaluate-many)."""
    parser.add_argument(
        "--train-fraction",
        type=float,
        default=0.3,
        help="rows before this share of the file are the labeling period (default 0.3)",
    )
    parser.add_argument(
        "--labels-per-appliance",
        type=int,
        default=5,
        help="labels the simulated user gives each appliance in the labeling period (default 5)",
    )
    parser.add_argument(
        "--tolerance-s",
        type=float,
        default=None,
        help="event matching window in seconds (default: 3 s, or 1.5 periods of the mains or of the "
        "sub-meters, whichever is longer)",
    )
    parser.add_argument(
        "--method",
        choices=("engine", "co"),
        default="engine",
        help="engine, or the combinatorial-optimisation baseline (co)",
    )
    parser.add_argument(
        "--label-every-event",
        action="store_true",
        help="diagnostic outside the contract: after the labeling period, label every event the ground "
        "truth explains, so the score shows what the tracking reaches with the naming perfect",
    )


def protocol_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """The options as `evaluate`'s keyword arguments; a train fraction outside [0, 1) exits."""
    if not 0.0 <= args.train_fraction < 1.0:
        parser.error("--train-fraction must be in [0, 1)")
    return {
        "train_fraction": args.train_fraction,
        "labels_per_appliance": args.labels_per_appliance,
        "tolerance_s": args.tolerance_s,
        "method": args.method,
        "label_every_event": args.label_every_event,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(prog="scripts/evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="NILM-CSV file")
    add_protocol_arguments(parser)
    parser.add_argument(
        "--predictions",
        type=Path,
        help="write each appliance's estimated power for every test-period row (CSV)",
    )
    parser.add_argument("--json", type=Path, help="write the metrics (JSON)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--confusion",
        action="store_true",
        help="also print which appliance the engine named for each appliance's events",
    )
    parser.add_argument(
        "--groups",
        action="store_true",
        help="also print how the events still unidentified at the end group (what a user labels next)",
    )
    parser.add_argument(
        "--learned",
        action="store_true",
        help="also print what the labels taught each appliance: its states' typical step, spread and "
        "inrush, and how long a run may last",
    )
    parser.add_argument(
        "--trace",
        nargs=2,
        type=float,
        metavar=("FROM", "TO"),
        help="also print each event between these timestamps: what the engine named it, its "
        "candidates, the ground truth's change, and what was on after it",
    )
    args = parser.parse_args(argv)
    options = protocol_options(parser, args)
    if args.trace is not None and args.trace[0] > args.trace[1]:
        parser.error("--trace FROM TO needs FROM <= TO")
    try:
        data = read_nilm_csv(args.data)
    except DataError as err:
        print(f"evaluate: error: {err}", file=sys.stderr)
        return 2
    metrics, t_test, estimates = evaluate(
        data,
        **options,
        progress=not args.quiet and data.t.size > 50_000,
        trace=None if args.trace is None else Trace(*args.trace),
    )
    print(format_table(metrics))
    if args.confusion:
        print(format_confusion(metrics))
    if args.groups:
        print(format_groups(metrics["groups"]))
    if args.learned:
        print(format_learned(metrics))
    if args.trace is not None:
        print(format_trace(metrics["trace"]))
    if args.predictions:
        write_predictions(args.predictions, t_test, estimates)
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
