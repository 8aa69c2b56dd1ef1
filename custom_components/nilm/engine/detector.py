"""Steady-state event detection: a sustained step between two steady levels is an event.

The per-sample path is a lean loop over plain floats (it must sustain hundreds of thousands of samples per
second); everything else happens only when a step is confirmed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Step:
    """A confirmed step: where it started, its size between steady means, and its transient.

    `index` is the batch row where the switch began, `confirmed` the row whose reading confirmed it (from
    which it takes effect, as when readings come one at a time); negative for rows of an earlier batch.
    """

    index: int
    confirmed: int
    t: float
    dp: float
    dq: float | None
    di: float | None
    level_before: float
    level_after: float
    overshoot_w: float
    transient_s: float
    # The lowest steady level of the last day up to this step: what the mains cannot fall below.
    floor_w: float
    # The meter as the detector knew it when the step was confirmed: noise, step threshold, period.
    noise_w: float
    threshold_w: float
    period_s: float


@dataclass(frozen=True, slots=True)
class Fall:
    """The level settled lower without a step (a slow fall, a sub-threshold change, a gap): a recheck."""

    confirmed: int
    t: float
    level_w: float
    floor_w: float


class _Meter(NamedTuple):
    """Where a step was confirmed and the meter as the detector knew it then."""

    confirmed: int
    floor_w: float
    noise_w: float
    threshold_w: float
    period_s: float


# A reading within a transition: its batch row, time, P, Q and I.
type _Reading = tuple[int, float, float, float | None, float | None]

# A batch with held readings repeated: times, P, Q, I, the batch row of each sample, which are real readings.
type _Held = tuple[
    list[float], list[float], list[float] | None, list[float] | None, list[int], list[bool]
]


class Detector:
    """Finds steps between steady states in an irregular stream, re-anchoring after gaps."""

    # Relative band: large loads fluctuate by a percent or two without switching.
    RELATIVE_BAND = 0.015
    # Noise multiple for the adaptive threshold: a step must stand well above the meter's noise.
    NOISE_FACTOR = 6.0
    # Loads fluctuate more than the meter at their own level (motors, elements): a step must also stand
    # above the noise of the level it leaves, tracked faster than the meter's.
    LOCAL_FACTOR = 4.0
    LOCAL_RATE = 0.1
    # A transition that has not settled after this long is re-anchored without an event.
    MAX_TRANSITION_S = 600.0
    # The period is the meter's resolution: it follows shorter intervals quickly and longer ones slowly, so a
    # meter that reports on change (seconds apart while loads switch, a minute apart while all is steady)
    # reads as the seconds it resolves, and a regular meter as its interval.
    PERIOD_DOWN = 0.2
    PERIOD_UP = 0.01
    # A reading that held for more than this many periods before the next one counts as repeated (zero-order
    # hold), up to the samples a level needs: a level a meter reporting on change held is a settled level.
    HOLD_PERIODS = 1.5
    # Hours of minima kept: a day.
    HOURS_KEPT = 24
    # Up to this period a reading is a level of its own, and a transition whose readings went the wrong way
    # by a step (see _two_switches) is two steps. Coarser readings average over the switching (split so,
    # 3 s readings scored the same, 4 s lower switch F1 on the simulated houses).
    SPLIT_PERIOD_S = 2.0
    # Up to this period a reading is a sample of the loads, and its jumps on a steady level are the meter's
    # noise: a load's own fluctuation (a washer's drum at 3-8 s readings) counts only up to NOISE_CLIP times
    # the noise so far, or it would raise the threshold above the drum's steps (and the band over them,
    # which raised it further). Above this period a reading averages what switched within it (a minute's
    # energy), and its jumps are the noise steps must stand above (clipped too, UCI scored 0.472, not 0.508).
    AVERAGING_PERIOD_S = 30.0
    NOISE_CLIP = 3.0

    def __init__(self, threshold_w: float, gap_s: float) -> None:
        """Start with no level: the first sample anchors it."""
        self.threshold_w = threshold_w
        self.gap_s = gap_s
        self.noise_w = 0.0
        self.local_noise_w = 0.0
        # Steady samples seen: the noise estimate is a plain mean until it has enough of them.
        self.noise_samples = 0
        # Lowest steady level of each hour (the last day's), and of the hour under way: what the baseload and
        # the floor of a recheck are made of.
        self.hourly_minima: deque[tuple[int, float]] = deque(maxlen=self.HOURS_KEPT)
        self.lowest_w = math.inf
        self._hour_end = -math.inf
        # Falls of the level without a step in the last batch, for the engine to recheck what runs, and the
        # level a drift is measured from (the highest since the last step or fall).
        self.falls: list[Fall] = []
        self._fall_ref = 0.0
        # Where the always-on load changed in the last batch (a new low of the hour, an hour closing): (row,
        # baseload), so that energy is split as when readings come one at a time.
        self.baseloads: list[tuple[int, float]] = []
        # The always-on load at the end of the last batch (None before any steady level).
        self.baseload_w: float | None = None
        # The period after each reading of the batch: what a step confirmed there was judged with.
        self._periods: list[float] = []
        self.period_s = 1.0
        # Intervals seen: the first sets the period, so a minute meter reads as one from its second reading.
        self.period_samples = 0
        # The last reading (P, Q, I): what a held reading repeats when the next batch starts after a while.
        self._held: tuple[float, float | None, float | None] | None = None
        self.last_t: float | None = None
        self._batch_n = 0
        self._reset_levels()

    def _reset_levels(self) -> None:
        self._win_p: deque[float] = deque(maxlen=self.settle_n)
        self._win_q: deque[float] = deque(maxlen=self.settle_n)
        self._win_i: deque[float] = deque(maxlen=self.settle_n)
        self._trans: list[_Reading] = []

    @property
    def settle_n(self) -> int:
        """Samples that make a steady level: three at 1-5 s, two at coarser periods, 3 s of them below 1 s."""
        return _settle_n(self.period_s)

    @property
    def level_w(self) -> float | None:
        """The current steady level (mean of the last steady samples), if anchored."""
        return sum(self._win_p) / len(self._win_p) if self._win_p else None

    def gap(self) -> None:
        """The source was lost: forget the level so no step is measured across the outage."""
        self._reset_levels()
        # Nor did the last reading hold through it.
        self._held = None

    def _closed_minima(self) -> tuple[list[float], float]:
        """The closed hours' minima, sorted, and the lowest of them (the day's low; inf before any)."""
        closed = sorted(m for _, m in self.hourly_minima)
        return closed, closed[0] if closed else math.inf

    def _close_hour(self, t: float) -> None:
        """Keep the minimum of the hour that ended and start the one t falls in."""
        if math.isfinite(self.lowest_w):
            hour = math.floor(self._hour_end / 3600.0) - 1
            self.hourly_minima.append((hour, max(0.0, self.lowest_w)))
        self.lowest_w = math.inf
        self._hour_end = (math.floor(t / 3600.0) + 1) * 3600.0

    def threshold(self) -> float:
        """The step threshold: the configured minimum, raised on noisy meters."""
        return self._threshold_at(self.noise_w, self.local_noise_w)

    def _threshold_at(self, noise_w: float, local_noise_w: float) -> float:
        """The step threshold for the meter's noise and the current level's."""
        return max(self.threshold_w, self.NOISE_FACTOR * noise_w, self.LOCAL_FACTOR * local_noise_w)

    def process(
        self,
        t: list[float],
        p: list[float],
        q: list[float] | None,
        i: list[float] | None,
    ) -> list[Step]:
        """Run over clean, strictly increasing samples; returns the steps confirmed.

        A step's index is its row in this batch; negative when the switch lay in an earlier batch.
        """
        steps: list[Step] = []
        # Rows of a transition still open from the previous batch, renumbered relative to this one.
        self._trans = [(k - self._batch_n, tk, pk, qk, ik) for k, tk, pk, qk, ik in self._trans]
        self._batch_n = len(t)
        (n_settle, clip), _, _ = _regime(self.period_s)
        rows: Sequence[int] = range(len(t))
        real: list[bool] | None = None
        held, regime_changes = self._follow_period(t, p, q, i)
        if held is not None:
            t, p, q, i, rows, real = held
        changes = iter(regime_changes)
        change = next(changes, None)
        win_p, win_q, win_i, trans = self._win_p, self._win_q, self._win_i, self._trans
        last_t = self.last_t
        gap_s = self.gap_s
        noise = self.noise_w
        local = self.local_noise_w
        thr_w = self.threshold_w
        half_thr_w = 0.5 * thr_w
        # A meter that read flat at first (noise 0) can still learn its noise.
        min_noise_w = thr_w / self.NOISE_FACTOR
        local_rate = self.LOCAL_RATE
        seen = self.noise_samples
        lowest = self.lowest_w
        hour_end = self._hour_end
        closed, day_low = self._closed_minima()
        baseload = baseload_of(closed, lowest)
        baseloads: list[tuple[int, float]] = []
        falls: list[Fall] = []
        fall_ref = self._fall_ref
        rel = self.RELATIVE_BAND
        level = sum(win_p) / len(win_p) if win_p else 0.0
        prev_p = win_p[-1] if win_p else 0.0
        for k in range(len(t)):
            if change is not None and change[0] == k:
                # The period crossed a boundary: from here on a level is this many samples, its windows hold
                # as many, and jumps are clipped or not, as if the batch had been fed a reading at a time.
                n_settle, clip = change[1]
                win_p = deque(win_p, maxlen=n_settle)
                win_q = deque(win_q, maxlen=n_settle)
                win_i = deque(win_i, maxlen=n_settle)
                level = sum(win_p) / len(win_p) if win_p else 0.0
                change = next(changes, None)
            tk = t[k]
            pk = p[k]
            if tk >= hour_end:
                self.lowest_w = lowest
                self._close_hour(tk)
                lowest, hour_end = math.inf, self._hour_end
                closed, day_low = self._closed_minima()
                baseload = _mark_baseload(baseloads, _row(rows, real, k), closed, lowest, baseload)
            if last_t is not None and tk - last_t > gap_s:
                win_p.clear()
                win_q.clear()
                win_i.clear()
                trans.clear()
            last_t = tk
            if not win_p:
                win_p.append(pk)
                if q is not None:
                    win_q.append(q[k])
                if i is not None:
                    win_i.append(i[k])
                level = fall_ref = pk
                prev_p = pk
                if level < lowest:
                    lowest = level
                    baseload = _mark_baseload(
                        baseloads, _row(rows, real, k), closed, lowest, baseload
                    )
                # Whatever ran before the gap, the mains now holds this much.
                falls.append(Fall(_row(rows, real, k), tk, level, min(day_low, lowest)))
                continue
            # Half the threshold, as the noise stands at this sample (so batches of any size find the same
            # steps): its noise terms are below the band's own.
            band = max(half_thr_w, rel * abs(level), 3.0 * noise, 3.0 * local)
            if not trans and -band <= pk - level <= band:
                # Steady: track the level and the sample-to-sample noise (a held reading shows none).
                if real is None or real[k]:
                    jump = 0.8 * abs(pk - prev_p)
                    if seen < 100:
                        seen += 1
                        noise += (jump - noise) / seen
                        local = max(local, noise)
                    else:
                        # Unclipped (inf) times a noise of 0 is NaN, which no jump exceeds.
                        cap = clip * (noise if noise > min_noise_w else min_noise_w)
                        noise += 0.01 * ((cap if jump > cap else jump) - noise)
                    local += local_rate * (jump - local)
                prev_p = pk
                if len(win_p) == win_p.maxlen:
                    level += (pk - win_p[0]) / len(win_p)
                    win_p.append(pk)
                else:
                    win_p.append(pk)
                    level = sum(win_p) / len(win_p)
                if level < lowest:
                    lowest = level
                    baseload = _mark_baseload(
                        baseloads, _row(rows, real, k), closed, lowest, baseload
                    )
                if q is not None:
                    win_q.append(q[k])
                if i is not None:
                    win_i.append(i[k])
                # A level drifting down without a step (a slow decline) is rechecked every threshold it falls.
                if level > fall_ref:
                    fall_ref = level
                elif level < fall_ref - thr_w and level < fall_ref - self._threshold_at(
                    noise, local
                ):
                    falls.append(Fall(_row(rows, real, k), tk, level, min(day_low, lowest)))
                    fall_ref = level
                continue
            thr = self._threshold_at(noise, local)
            trans.append(
                (
                    rows[k],
                    tk,
                    pk,
                    q[k] if q is not None else None,
                    i[k] if i is not None else None,
                )
            )
            if len(trans) < n_settle:
                continue
            tail = [s[2] for s in trans[-n_settle:]]
            new_level = sum(tail) / n_settle
            new_band = max(0.5 * thr, rel * abs(new_level), 3.0 * noise, 3.0 * local)
            if max(tail) - min(tail) > 2.0 * new_band:
                if tk - trans[0][1] > self.MAX_TRANSITION_S:
                    self._anchor(trans[-n_settle:], win_p, win_q, win_i)
                    anchored = sum(win_p) / len(win_p)
                    if anchored < level:
                        floor = min(day_low, lowest)
                        falls.append(Fall(_row(rows, real, k), tk, anchored, floor))
                    level = fall_ref = anchored
                    prev_p = pk
                    trans.clear()
                continue
            dp = new_level - level
            floor = min(day_low, lowest)
            # The new level's own noise is unknown yet: start from what its settling samples show.
            local = max(noise, 0.5 * (max(tail) - min(tail)))
            confirmed = _row(rows, real, k)
            # A step needs a steady level on both sides: none right after the start or a gap.
            if abs(dp) >= thr and len(win_p) >= n_settle:
                meter = _Meter(
                    confirmed,
                    floor,
                    noise,
                    self._threshold_at(noise, local),
                    self._periods[confirmed],
                )
                between, settled = trans[:-n_settle], trans[-n_settle:]
                if meter.period_s <= self.SPLIT_PERIOD_S and _two_switches(
                    between, level, new_level, thr
                ):
                    steps += self._two_steps(
                        between, settled, level, new_level, win_q, win_i, meter
                    )
                else:
                    steps.append(self._step(trans, n_settle, level, new_level, win_q, win_i, meter))
            elif dp < 0:
                falls.append(Fall(confirmed, tk, new_level, floor))
            self._anchor(trans[-n_settle:], win_p, win_q, win_i)
            level = fall_ref = new_level
            prev_p = pk
            trans.clear()
        self.last_t = last_t
        self.noise_w = noise
        self.local_noise_w = local
        self.noise_samples = seen
        self.lowest_w = lowest
        self._hour_end = hour_end
        self.falls = falls
        self.baseloads = baseloads
        self.baseload_w = baseload
        self._fall_ref = fall_ref
        self._held = (p[-1], None if q is None else q[-1], None if i is None else i[-1])
        self._win_p, self._win_q, self._win_i = win_p, win_q, win_i
        if win_p.maxlen != self.settle_n:
            self._win_p = deque(win_p, maxlen=self.settle_n)
            self._win_q = deque(win_q, maxlen=self.settle_n)
            self._win_i = deque(win_i, maxlen=self.settle_n)
        return steps

    def _follow_period(
        self,
        t: list[float],
        p: list[float],
        q: list[float] | None,
        i: list[float] | None,
    ) -> tuple[_Held | None, list[tuple[int, _Regime]]]:
        """Follow the period over a batch; where a reading held, the batch with it repeated.

        Returns None when nothing held (a regular meter), else the samples with the repeats put in, the batch
        row each comes from (a repeat of the previous batch's reading: -1) and which are real readings; and
        where the regime changes: (sample, regime from there on), counted in the samples returned. Each
        reading is judged in the regime of the period before it, as when readings come one at a time.
        """
        period, seen, last = self.period_s, self.period_samples, self.last_t
        self._periods = []
        down, up, hold, gap_s = self.PERIOD_DOWN, self.PERIOD_UP, self.HOLD_PERIODS, self.gap_s
        # Where a reading held: (row of the next reading, when the held one came, the period then).
        holds: list[tuple[int, float, float]] = []
        _, low, high = _regime(period)
        changes: list[tuple[int, _Regime]] = []
        for k, tk in enumerate(t):
            if not low < period <= high:
                regime, low, high = _regime(period)
                changes.append((k, regime))
            if last is not None and tk - last <= gap_s:
                dt = tk - last
                if not seen:
                    period, seen = dt, 1
                elif dt < period:
                    period += down * (dt - period)
                else:
                    # A reading that held (a meter reporting on change, quiet for a minute) says little of
                    # the meter's resolution: it raises the period as an interval of the hold limit would.
                    held = dt > hold * period
                    period += up * (min(dt, hold * period) - period)
                    if held:
                        holds.append((k, last, period))
            last = tk
            self._periods.append(period)
        self.period_s, self.period_samples = period, seen
        out: list[tuple[float, float, float | None, float | None, int, bool]] = []
        done = 0
        # Repeats put in, by the row they come before: a reading's call starts with its repeats.
        inserted: list[tuple[int, int]] = []
        for k, since, then in holds:
            repeats = min(_settle_n(then) - 1, round((t[k] - since) / then) - 1)
            source = (p[k - 1], _at(q, k - 1), _at(i, k - 1)) if k > 0 else self._held
            if repeats <= 0 or source is None:
                continue
            out += [(t[j], p[j], _at(q, j), _at(i, j), j, True) for j in range(done, k)]
            inserted.append((k, repeats))
            out += [(since + n * then, *source, k - 1, False) for n in range(1, repeats + 1)]
            done = k
        if not out:
            return None, changes
        out += [(t[j], p[j], _at(q, j), _at(i, j), j, True) for j in range(done, len(t))]
        at_sample = [(k + sum(n for r, n in inserted if r < k), now) for k, now in changes]
        times, powers, reactive, current, rows, real = zip(*out, strict=True)
        return (
            list(times),
            list(powers),
            None if q is None else [math.nan if x is None else x for x in reactive],
            None if i is None else [math.nan if x is None else x for x in current],
            list(rows),
            list(real),
        ), at_sample

    @staticmethod
    def _anchor(
        tail: list[_Reading],
        win_p: deque[float],
        win_q: deque[float],
        win_i: deque[float],
    ) -> None:
        win_p.clear()
        win_q.clear()
        win_i.clear()
        for _, _, pk, qk, ik in tail:
            win_p.append(pk)
            if qk is not None:
                win_q.append(qk)
            if ik is not None:
                win_i.append(ik)

    @classmethod
    def _two_steps(
        cls,
        between: list[_Reading],
        settled: list[_Reading],
        level: float,
        new_level: float,
        win_q: deque[float],
        win_i: deque[float],
        meter: _Meter,
    ) -> list[Step]:
        """A transition that went the other way first: a step to the readings between, and one from there."""
        mid = sum(s[2] for s in between) / len(between)
        mid_q = deque(s[3] for s in between if s[3] is not None)
        mid_i = deque(s[4] for s in between if s[4] is not None)
        return [
            cls._step(between, len(between), level, mid, win_q, win_i, meter),
            cls._step(settled, len(settled), mid, new_level, mid_q, mid_i, meter),
        ]

    @staticmethod
    def _step(
        trans: list[_Reading],
        n_settle: int,
        level: float,
        new_level: float,
        win_q: deque[float],
        win_i: deque[float],
        meter: _Meter,
    ) -> Step:
        tail = trans[-n_settle:]
        sign = 1.0 if new_level >= level else -1.0
        overshoot = max((s[2] - new_level) * sign for s in trans)
        # The switch is the first big jump (at least half the largest): a transition may open with drift
        # (another load's ripple, a sample averaging part of the switching interval), not the switch.
        before = [level, *(s[2] for s in trans[:-1])]
        jumps = [(s[2] - b) * sign for s, b in zip(trans, before, strict=True)]
        switch = next(k for k, jump in enumerate(jumps) if jump >= 0.5 * max(jumps))
        return Step(
            index=trans[switch][0],
            confirmed=meter.confirmed,
            t=trans[switch][1],
            dp=new_level - level,
            dq=_mean_delta(win_q, [s[3] for s in tail]),
            di=_mean_delta(win_i, [s[4] for s in tail]),
            level_before=level,
            level_after=new_level,
            overshoot_w=max(0.0, overshoot),
            transient_s=max(0.0, tail[0][1] - trans[0][1]),
            floor_w=meter.floor_w,
            noise_w=meter.noise_w,
            threshold_w=meter.threshold_w,
            period_s=meter.period_s,
        )


def _mark_baseload(
    marks: list[tuple[int, float]],
    row: int,
    closed: list[float],
    lowest_w: float,
    current: float | None,
) -> float | None:
    """The baseload now; where it changed, the row is marked (the engine follows it from there)."""
    now = baseload_of(closed, lowest_w)
    if now is None or now == current:
        return current
    marks.append((row, now))
    return now


def baseload_of(closed: list[float], lowest_w: float) -> float | None:
    """The always-on load: a low quantile of the hourly minima of steady levels, robust to one odd dip.

    `closed` holds the closed hours' minima, sorted; the hour under way counts with its minimum so far,
    put in without sorting again (this runs at every new low). None before any steady level.
    """
    if not math.isfinite(lowest_w):
        return closed[len(closed) // 10] if closed else None
    at = (len(closed) + 1) // 10
    below = closed[at - 1] if at > 0 else -math.inf
    above = closed[at] if at < len(closed) else math.inf
    return max(below, min(max(0.0, lowest_w), above))


def _two_switches(
    between: list[_Reading],
    level: float,
    new_level: float,
    threshold: float,
) -> bool:
    """Whether the readings between two levels show two loads switching rather than one load's transient.

    All of them a step the other way from the old level (a drum on, then a kettle off), or, for a fall, a
    step below the new level (a kettle off, then a drum on): one load overshoots only its own way, and only
    when it starts (a motor's inrush).
    """
    if not between:
        return False
    readings = [s[2] for s in between]
    if new_level > level:
        return all(r <= level - threshold for r in readings)
    return all(r >= level + threshold for r in readings) or all(
        r <= new_level - threshold for r in readings
    )


# Up to this period a level is three samples, above it two.
_FINE_PERIOD_S = 5.0
# Below a second a level spans as long as three 1 s readings do (up to _MAX_SETTLE_N samples): a motor's start
# decays over seconds, and three half-second readings measured a fridge's ON at 150 W for its 120 W run.
_LEVEL_SPAN_S = 3.0
_MAX_SETTLE_N = 30


def _settle_n(period_s: float) -> int:
    if period_s <= 1.0:
        return min(_MAX_SETTLE_N, int(_LEVEL_SPAN_S / period_s))
    return 3 if period_s <= _FINE_PERIOD_S else 2


class _Regime(NamedTuple):
    """How readings of a period are judged: samples per level, and the clip of a jump (in noises)."""

    settle_n: int
    noise_clip: float


def _regime(period_s: float) -> tuple[_Regime, float, float]:
    """The regime of a period, and the periods that share it (above the first, up to the second)."""
    averaging = Detector.AVERAGING_PERIOD_S
    averaged = period_s > averaging
    regime = _Regime(_settle_n(period_s), math.inf if averaged else Detector.NOISE_CLIP)
    if averaged:
        return regime, averaging, math.inf
    if period_s > _FINE_PERIOD_S:
        return regime, _FINE_PERIOD_S, averaging
    if period_s > 1.0:
        return regime, 1.0, _FINE_PERIOD_S
    n = regime.settle_n
    # The periods with as many samples per level: (span / (n + 1), span / n]; n >= 3, so up to a second.
    low = -math.inf if n == _MAX_SETTLE_N else _LEVEL_SPAN_S / (n + 1)
    return regime, low, _LEVEL_SPAN_S / n


def _row(rows: Sequence[int], real: list[bool] | None, k: int) -> int:
    """The batch row a sample is processed with: a repeat of a held reading goes with the reading after it."""
    return rows[k] if real is None or real[k] else rows[k] + 1


def _at(column: list[float] | None, k: int) -> float | None:
    return None if column is None else column[k]


def _mean_delta(before: deque[float], after: list[float | None]) -> float | None:
    """Change of the mean of an optional channel; missing readings (NaN) are left out."""
    then = [b for b in before if math.isfinite(b)]
    now = [a for a in after if a is not None and math.isfinite(a)]
    if not then or not now:
        return None
    return sum(now) / len(now) - sum(then) / len(then)
