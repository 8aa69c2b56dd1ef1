"""Generated households and a compact replay of the labeling protocol, for the engine's tests.

`House` draws appliance runs on a noisy baseload; `replay` feeds it to an Engine, labels the events that match a
ground-truth switch during the labeling period (as docs/evaluation.md describes) and records each appliance's
estimated power per row, so tests can score event detection and state F1 without any external data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from custom_components.nilm.engine import Engine

type Floats = NDArray[np.float64]

DATA = Path(__file__).parent / "data"
T0 = 1_700_000_000.0


def levels(
    *segments: tuple[float, int],
    q: tuple[float, ...] | None = None,
    t0: float = T0,
    period_s: float = 1.0,
):
    """A stream of steady segments (power, samples), 1 Hz unless told, with optional reactive power."""
    p = np.concatenate([np.full(n, w) for w, n in segments])
    t = t0 + period_s * np.arange(p.size, dtype=float)
    if q is None:
        return t, p, None
    qs = np.concatenate([np.full(n, v) for v, (_, n) in zip(q, segments, strict=True)])
    return t, p, qs


@dataclass(frozen=True)
class Load:
    """An appliance of a generated house: its ON power, reactive power, run length and uses per day."""

    name: str
    power_w: float
    reactive_var: float
    run_s: tuple[float, float]
    runs: int


@dataclass
class House:
    """Mains P and Q with per-appliance truth."""

    t: Floats
    p: Floats
    q: Floats
    truth: dict[str, Floats] = field(default_factory=dict)


def make_house(
    loads: list[Load], seconds: int, seed: int = 0, noise_w: float = 2.0, period_s: float = 1.0
) -> House:
    """Runs placed at random (never two switches of different loads within 5 s) on a 120 W baseload."""
    rng = np.random.default_rng(seed)
    n = int(seconds / period_s)
    t = 1_700_000_000.0 + np.arange(n) * period_s
    p = 120.0 + rng.normal(0.0, noise_w, n)
    q = 40.0 + rng.normal(0.0, noise_w, n)
    truth: dict[str, Floats] = {}
    switches: list[int] = []
    for load in loads:
        on = np.zeros(n)
        for _ in range(load.runs):
            for _attempt in range(50):
                length = int(rng.uniform(*load.run_s) / period_s)
                start = int(rng.integers(10, n - length - 10))
                stop = start + length
                busy = on[max(0, start - 10) : stop + 10].any()
                close = any(abs(start - s) < 5 or abs(stop - s) < 5 for s in switches)
                if not busy and not close:
                    on[start:stop] = 1.0
                    switches += [start, stop]
                    break
        drift = 1.0 + rng.normal(0.0, 0.01, n)
        truth[load.name] = on * load.power_w * drift
        p += truth[load.name]
        q += on * load.reactive_var
    return House(t, p, q, truth)


def reported_on_change(house: House, deadband_w: float = 10.0, heartbeat_s: float = 60.0) -> House:
    """The house as a meter that reports on change sees it.

    A reading when P moved by the deadband since the last one, else once per heartbeat (many plugs and
    smart-meter readers report so).
    """
    keep = np.zeros(house.t.size, dtype=bool)
    last_p, last_t = -np.inf, -np.inf
    for k, (t, p) in enumerate(zip(house.t, house.p, strict=True)):
        if abs(p - last_p) >= deadband_w or t - last_t >= heartbeat_s:
            keep[k] = True
            last_p, last_t = p, t
    truth = {name: x[keep] for name, x in house.truth.items()}
    return House(house.t[keep], house.p[keep], house.q[keep], truth)


def truth_switches(x: Floats, threshold_w: float = 50.0) -> list[tuple[int, float]]:
    """(row, dP) of every change of a ground-truth trace between steady levels."""
    out: list[tuple[int, float]] = []
    level = float(x[0])
    for k in range(1, x.size - 2):
        window = x[k : k + 3]
        if abs(x[k] - level) >= threshold_w and np.ptp(window) < max(
            threshold_w, 0.1 * abs(window.mean())
        ):
            new = float(window.mean())
            if abs(new - level) >= threshold_w and (not out or k - out[-1][0] >= 3):
                out.append((k, new - level))
            level = new
    return out


def replay(
    engine: Engine,
    house: House,
    *,
    train_fraction: float = 0.3,
    labels_per_appliance: int = 5,
    batch: int = 1,
    tolerance_s: float = 3.0,
) -> tuple[dict[str, Floats], list[float]]:
    """Feed the house, labeling matching events early on; returns per-appliance estimates and event times."""
    n = house.t.size
    split = int(train_fraction * n)
    truth = [
        (float(house.t[k]), dp, name)
        for name, x in house.truth.items()
        for k, dp in truth_switches(np.nan_to_num(x))
    ]
    given = dict.fromkeys(house.truth, 0)
    names: dict[str, str] = {}
    estimate = {name: np.zeros(n) for name in house.truth}
    event_times: list[float] = []
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        update = engine.feed_arrays(house.t[start:stop], house.p[start:stop], q=house.q[start:stop])
        for event in update.events:
            event_times.append(event.t)
            if start >= split:
                continue
            near = [
                (abs(abs(dp) - abs(event.dp)), name)
                for t, dp, name in truth
                if abs(t - event.t) <= tolerance_s and np.sign(dp) == np.sign(event.dp)
            ]
            if near:
                name = min(near)[1]
                if given[name] < labels_per_appliance:
                    names[engine.label_event(event.id, name).id] = name
                    given[name] += 1
        for appliance_id, view in engine.snapshot().appliances.items():
            name = names.get(appliance_id)
            if name is not None:
                estimate[name][start:stop] = view.power_w
    return estimate, event_times


def state_f1(truth: Floats, estimate: Floats) -> float:
    """Sample-level ON/OFF F1 with the evaluation contract's threshold."""
    above = truth[truth > 20.0]
    threshold = max(20.0, 0.5 * float(np.median(above))) if above.size else 20.0
    on_true, on_est = truth >= threshold, estimate >= threshold
    hits = float((on_true & on_est).sum())
    denominator = float(on_true.sum() + on_est.sum())
    return 2.0 * hits / denominator if denominator else 1.0


def event_f1(detected: list[float], truth: list[float], tolerance_s: float) -> float:
    """One-to-one matching of detected and true event times within the tolerance."""
    pairs = sorted(
        (abs(a - b), i, j)
        for i, a in enumerate(detected)
        for j, b in enumerate(truth)
        if abs(a - b) <= tolerance_s
    )
    used_d: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in pairs:
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
    hits = len(used_d)
    denominator = len(detected) + len(truth)
    return 2.0 * hits / denominator if denominator else 1.0


def read_nilm_csv(path: Path) -> tuple[list[str], Floats]:
    """Header and rows of a NILM-CSV file (comment lines skipped)."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    header = lines[0].split(",")
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    return header, rows
