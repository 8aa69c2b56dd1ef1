"""A synthetic household of parametric appliance models, deterministic by seed, with per-appliance truth.

Each appliance draws its runs from a random generator seeded by (household seed, appliance index, hour of the
epoch), so a window of any start and length sees the same runs as any other window over the same hours.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
import math

import numpy as np

from .sample import FloatArray, MeterSample, energy_counter, samples_from_columns

HOUR_S = 3600.0


def _reactive(p: FloatArray, pf: float) -> FloatArray:
    """Q for active power P at a constant power factor (inductive, as PZEM only sees |Q|)."""
    return p * math.tan(math.acos(pf))


@dataclass(frozen=True, slots=True)
class Run:
    """One operation of an appliance: start (epoch s) and duration (s)."""

    start: float
    duration: float


def slotted_runs(
    seed: tuple[int, int],
    start: float,
    end: float,
    per_hour: float,
    duration_s: tuple[float, float],
) -> list[Run]:
    """Runs overlapping [start, end) at about `per_hour`, never overlapping each other.

    Time is cut into slots of 1.5 x the longest run; each slot holds a run with probability
    per_hour x slot / 1 h (at most one), drawn from its own generator: any window sees the same runs.
    """
    slot = 1.5 * duration_s[1]
    chance = min(1.0, per_hour * slot / HOUR_S)
    runs: list[Run] = []
    for index in range(math.floor(start / slot) - 1, math.ceil(end / slot)):
        rng = np.random.default_rng([*seed, index])
        if rng.random() >= chance:
            continue
        duration = float(rng.uniform(*duration_s))
        run = Run(index * slot + float(rng.uniform(0.0, slot - duration)), duration)
        if run.start < end and run.start + run.duration > start:
            runs.append(run)
    return runs


@dataclass(frozen=True)
class ApplianceModel(ABC):
    """An appliance: when it runs and what it draws while running."""

    name: str

    @abstractmethod
    def runs(self, seed: tuple[int, int], start: float, end: float, activity: float) -> list[Run]:
        """The runs overlapping [start, end), deterministic in (seed, absolute time)."""

    @abstractmethod
    def profile(
        self, elapsed: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """Active and reactive power (W, var) at `elapsed` seconds since the run started."""


@dataclass(frozen=True)
class RandomUse(ApplianceModel):
    """An appliance switched on at random times: `runs_per_hour`, durations in `duration_s`."""

    runs_per_hour: float = 1.0
    duration_s: tuple[float, float] = (60.0, 600.0)

    def runs(self, seed: tuple[int, int], start: float, end: float, activity: float) -> list[Run]:
        """Random starts at about `runs_per_hour` x activity, durations uniform in `duration_s`."""
        return slotted_runs(seed, start, end, self.runs_per_hour * activity, self.duration_s)


@dataclass(frozen=True)
class ResistiveLoad(RandomUse):
    """A heating element or a bulb: a clean step of `power_w`, unity or fixed power factor."""

    power_w: float = 2000.0
    pf: float = 1.0

    def profile(
        self, elapsed: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """Constant power; the element's resistance drifts up a little as it heats."""
        p = self.power_w * (1.0 - 0.01 * np.minimum(elapsed / 120.0, 1.0))
        return p, _reactive(p, self.pf)


@dataclass(frozen=True)
class ElectronicLoad(RandomUse):
    """A TV or a computer: a level that wanders with the content, a capacitive-ish power factor."""

    power_w: float = 100.0
    wander_w: float = 15.0
    pf: float = 0.9

    def profile(
        self, elapsed: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """Level plus a smooth random wander (sum of slow sines with random phases)."""
        phases = rng.uniform(0.0, 2 * math.pi, 3)
        wander = sum(
            np.sin(elapsed * (2 * math.pi / period) + phase)
            for period, phase in zip((37.0, 113.0, 331.0), phases, strict=True)
        )
        p = np.maximum(self.power_w + self.wander_w * wander / 3.0, 1.0)
        return p, _reactive(p, self.pf)


@dataclass(frozen=True)
class Motor(RandomUse):
    """An induction motor: `inrush_factor` x running power at start, decaying in `inrush_s` seconds."""

    power_w: float = 120.0
    inrush_factor: float = 5.0
    inrush_s: float = 1.5
    pf: float = 0.8

    def profile(
        self, elapsed: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """Running power with the exponential inrush; starting current is mostly reactive."""
        inrush = (self.inrush_factor - 1.0) * np.exp(-elapsed / self.inrush_s)
        p = self.power_w * (1.0 + inrush)
        return p, _reactive(np.full_like(p, self.power_w), self.pf) * (1.0 + 1.5 * inrush)


@dataclass(frozen=True)
class ThermostaticMotor(Motor):
    """A fridge compressor: cycles on for about `on_s`, off for about `off_s`, whatever the time of day."""

    on_s: float = 900.0
    off_s: float = 1800.0
    jitter: float = 0.2

    def runs(self, seed: tuple[int, int], start: float, end: float, activity: float) -> list[Run]:
        """Cycle k starts near phase + k * period; jitter of start and length never makes cycles overlap."""
        period = self.on_s + self.off_s
        phase = float(np.random.default_rng(list(seed)).uniform(0.0, period))
        runs: list[Run] = []
        for cycle in range(
            math.floor((start - phase) / period) - 1, math.ceil((end - phase) / period)
        ):
            rng = np.random.default_rng([*seed, cycle])
            run_start = phase + cycle * period + rng.uniform(0.0, self.jitter * self.off_s / 2)
            duration = self.on_s * (1.0 + rng.uniform(-self.jitter, self.jitter))
            if run_start < end and run_start + duration > start:
                runs.append(Run(run_start, duration))
        return runs


@dataclass(frozen=True, slots=True)
class Phase:
    """One stage of a programme: `power_w` for `duration_s`, optionally alternating with `pause_w`.

    With `period_s` > 0 the drum-style pattern is `period_s` at power_w then `period_s` at pause_w.
    """

    name: str
    duration_s: float
    power_w: float
    pf: float = 1.0
    period_s: float = 0.0
    pause_w: float = 0.0


@dataclass(frozen=True)
class Programme(RandomUse):
    """A washing machine or dishwasher: a fixed sequence of phases (heat, wash, spin, ...)."""

    phases: tuple[Phase, ...] = ()

    def runs(self, seed: tuple[int, int], start: float, end: float, activity: float) -> list[Run]:
        """Random starts like any appliance; the duration is the programme's."""
        total = sum(phase.duration_s for phase in self.phases)
        return slotted_runs(seed, start, end, self.runs_per_hour * activity, (total, total))

    def profile(
        self, elapsed: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """The phase in force at each instant, with its on/pause pattern."""
        p = np.zeros_like(elapsed)
        q = np.zeros_like(elapsed)
        phase_start = 0.0
        for phase in self.phases:
            inside = (elapsed >= phase_start) & (elapsed < phase_start + phase.duration_s)
            level = np.full(int(inside.sum()), phase.power_w)
            if phase.period_s > 0:
                since = elapsed[inside] - phase_start
                level[(since // phase.period_s) % 2 == 1] = phase.pause_w
            p[inside] = level
            q[inside] = _reactive(level, phase.pf)
            phase_start += phase.duration_s
        return p, q


def default_appliances() -> tuple[ApplianceModel, ...]:
    """A typical household: kettle, fridge, washing machine, lights, TV."""
    return (
        ResistiveLoad("kettle", runs_per_hour=0.6, duration_s=(100.0, 240.0), power_w=2000.0),
        ThermostaticMotor("fridge", power_w=110.0, inrush_factor=6.0, on_s=900.0, off_s=1800.0),
        Programme(
            "washing_machine",
            runs_per_hour=0.15,
            phases=(
                Phase("fill", 120.0, 10.0),
                Phase("heat", 900.0, 2000.0),
                Phase("wash", 1800.0, 180.0, pf=0.6, period_s=15.0, pause_w=10.0),
                Phase("rinse", 600.0, 150.0, pf=0.6, period_s=10.0, pause_w=10.0),
                Phase("spin", 420.0, 450.0, pf=0.75),
            ),
        ),
        ResistiveLoad(
            "lights", runs_per_hour=1.0, duration_s=(300.0, 3600.0), power_w=60.0, pf=0.9
        ),
        ElectronicLoad("tv", runs_per_hour=0.3, duration_s=(1200.0, 5400.0), power_w=95.0),
    )


@dataclass(frozen=True, slots=True)
class HouseholdTrace:
    """Meter columns and the ground truth: each appliance's active power, aligned with `t`."""

    t: FloatArray
    p: FloatArray
    q: FloatArray
    v: FloatArray
    i: FloatArray
    pf: FloatArray
    f: FloatArray
    e: FloatArray
    truth: dict[str, FloatArray] = field(default_factory=dict)

    def samples(self) -> Iterator[MeterSample]:
        """The meter's samples at the PZEM's resolution."""
        return samples_from_columns(
            self.t, self.p, v=self.v, i=self.i, e=self.e, f=self.f, pf=self.pf
        )


class Household:
    """A whole house behind one meter: baseload, appliances, mains voltage and meter noise."""

    def __init__(
        self,
        seed: int = 0,
        appliances: tuple[ApplianceModel, ...] | None = None,
        *,
        activity: float = 1.0,
        baseload_w: float = 80.0,
        noise_w: float = 1.5,
    ) -> None:
        """`activity` scales every appliance's use rate (higher: more events per hour, for short tests)."""
        if activity <= 0 or not math.isfinite(activity):
            raise ValueError(f"activity must be a positive number, got {activity}")
        self.seed = seed
        self.appliances = default_appliances() if appliances is None else appliances
        self.activity = activity
        self.baseload_w = baseload_w
        self.noise_w = noise_w

    def simulate(
        self,
        start: float,
        duration_s: float,
        period_s: float = 1.0,
        *,
        energy_wh: float | None = None,
    ) -> HouseholdTrace:
        """Meter readings and per-appliance truth every `period_s` over [start, start + duration_s).

        The meter's energy counter starts at `energy_wh` (pass the previous window's last `e` to continue
        it), else at a seed-dependent value.
        """
        if duration_s <= 0 or period_s <= 0:
            raise ValueError("duration and period must be positive")
        t = start + np.arange(math.ceil(duration_s / period_s), dtype=np.float64) * period_s
        end = start + duration_s
        truth: dict[str, FloatArray] = {}
        q_total = np.zeros_like(t)
        for index, appliance in enumerate(self.appliances):
            p = np.zeros_like(t)
            for run in appliance.runs((self.seed, index), start, end, self.activity):
                inside = (t >= run.start) & (t < run.start + run.duration)
                rng = np.random.default_rng([self.seed, index, int(run.start)])
                p_run, q_run = appliance.profile(t[inside] - run.start, rng)
                p[inside] = p_run
                q_total[inside] += q_run
            truth[appliance.name] = p
        rng = np.random.default_rng([self.seed, int(start)])
        # The baseload (routers, standby) drifts slowly over the day.
        baseload = self.baseload_w * (1.0 + 0.1 * np.sin(2 * math.pi * t / 86400.0))
        truth["baseload"] = baseload
        p_total = np.clip(sum(truth.values()) + rng.normal(0.0, self.noise_w, len(t)), 0.0, 23000.0)
        q_total += _reactive(baseload, 0.7)
        # Mains voltage wanders and sags about 1.5 V per kW of the house's own load.
        v = 230.0 + 2.0 * np.sin(2 * math.pi * t / 5400.0) - 0.0015 * p_total
        v += rng.normal(0.0, 0.1, len(t))
        apparent = np.hypot(p_total, q_total)
        i = apparent / v
        pf = np.where(apparent > 0, p_total / np.maximum(apparent, 1e-9), 0.0)
        f = 50.0 + 0.02 * np.sin(2 * math.pi * t / 600.0) + rng.normal(0.0, 0.005, len(t))
        e = energy_counter(
            t, p_total, start_wh=1000.0 + self.seed % 1000 if energy_wh is None else energy_wh
        )
        return HouseholdTrace(t=t, p=p_total, q=q_total, v=v, i=i, pf=pf, f=f, e=e, truth=truth)

    def samples(self, start: float, duration_s: float, period_s: float = 1.0) -> list[MeterSample]:
        """The meter's samples over the window (use `simulate` for the ground truth too)."""
        return list(self.simulate(start, duration_s, period_s).samples())
