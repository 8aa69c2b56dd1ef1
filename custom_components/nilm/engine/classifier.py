"""Identification: Gaussian Naive Bayes over the step's features, gated by signature matching.

Each appliance state has a Signature: its labeled steps seen as ONs (an OFF is the negative of its ON). The
likelihood of an event under a signature multiplies per-feature Gaussians (|dP|, and the reactive step dQ when
both sides know it). The spread of each Gaussian is a robust estimate from the labels (median and MAD, so one
mislabeled step does not blow it up), widened by the meter's noise and an appliance's usual drift. Before the
likelihoods compete, signature matching gates them: an event whose |dP| lies too many spreads from a signature,
or whose power factor differs clearly, is not that signature. An event no signature admits is novel and stays
unidentified instead of being forced into a class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import math
from statistics import median

from .features import step_power_factor

# Appliances drift by a few percent between uses (supply voltage, temperature).
RELATIVE_SPREAD = 0.04
REACTIVE_FLOOR_VAR = 15.0
# Beyond this many spreads an event is not this signature at all.
NOVELTY_Z = 4.0
# Power factors of the same load differ by less than this between uses; beyond, a different load.
PF_TOLERANCE = 0.12
# Median absolute deviation to standard deviation for Gaussian data.
MAD_TO_SD = 1.4826


@dataclass(frozen=True, slots=True)
class Stats:
    """Centre and spread of one feature over a signature's labeled steps."""

    centre: float
    spread: float


def robust_stats(values: Sequence[float]) -> Stats | None:
    """Median and MAD-based spread; with fewer than three values the spread is only what they show."""
    if not values:
        return None
    centre = median(values)
    if len(values) < 3:
        return Stats(centre, max(abs(v - centre) for v in values))
    return Stats(centre, MAD_TO_SD * median(abs(v - centre) for v in values))


@dataclass(slots=True)
class Signature:
    """What the classifier knows about one appliance state: its labeled steps, as ON magnitudes."""

    appliance_id: str
    state: str
    entries: list[tuple[str, float, float | None]] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many labeled steps back this signature."""
        return len(self.entries)

    def power(self) -> float:
        """Typical ON step (W): the median, robust to one mislabeled event."""
        return median(e[1] for e in self.entries)

    def add(self, event_id: str, dp: float, dq: float | None, limit: int) -> None:
        """Learn one step (sign-free: ON and OFF steps of a state have the same size)."""
        self.remove(event_id)
        self.entries.append((event_id, abs(dp), None if dq is None else (dq if dp >= 0 else -dq)))
        del self.entries[:-limit]

    def remove(self, event_id: str) -> bool:
        """Forget one step; true when it was there."""
        before = len(self.entries)
        self.entries = [e for e in self.entries if e[0] != event_id]
        return len(self.entries) != before

    def match(
        self, magnitude: float, dq: float | None, noise_w: float, power: float | None = None
    ) -> tuple[float, float] | None:
        """Log-likelihood of a step under this signature and its |dP| distance in spreads, or None.

        `dq` is the step's reactive change seen as an ON (negated for OFF steps). `power`, when given,
        replaces the signature's typical step: an OFF should remove what its ON added. None means the
        signature does not admit the step (too far in |dP|, or a clearly different power factor).
        """
        p_stats = robust_stats([e[1] for e in self.entries])
        if p_stats is None:
            return None
        mean = p_stats.centre if power is None else power
        sd = math.hypot(p_stats.spread, RELATIVE_SPREAD * mean, 2.0 * noise_w + 5.0)
        z = abs(magnitude - mean) / sd
        if z > NOVELTY_Z:
            return None
        ll = -0.5 * z * z - math.log(sd)
        q_stats = robust_stats([e[2] for e in self.entries if e[2] is not None])
        if dq is not None and q_stats is not None:
            pf_event = step_power_factor(magnitude, dq)
            pf_sig = step_power_factor(mean, q_stats.centre)
            q_sd = math.hypot(q_stats.spread, 0.1 * abs(q_stats.centre), REACTIVE_FLOOR_VAR)
            zq = (dq - q_stats.centre) / q_sd
            # A clearly different power factor (beyond the meter's reactive noise) is another load.
            pf_differs = (
                pf_event is not None
                and pf_sig is not None
                and abs(pf_event - pf_sig) > PF_TOLERANCE
            )
            if pf_differs and abs(zq) > NOVELTY_Z:
                return None
            ll += -0.5 * zq * zq - math.log(q_sd)
        return ll, z


@dataclass(frozen=True, slots=True)
class Option:
    """One way to explain an event: switching these signatures (one, or two together) by this power."""

    signatures: tuple[Signature, ...]
    power: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The classifier's answer for one event: ranked options with probabilities, and how sure it is."""

    ranked: list[tuple[Option, float]]
    confidence: float

    @property
    def best(self) -> Option | None:
        """The winning option, if any signature admits the event."""
        return self.ranked[0][0] if self.ranked else None

    @property
    def candidates(self) -> list[tuple[str, str, float]]:
        """(appliance id, state, probability) best first; a joint option is named by its largest part."""
        seen: dict[tuple[str, str], float] = {}
        for option, probability in self.ranked:
            lead = max(option.signatures, key=lambda s: s.power())
            key = (lead.appliance_id, lead.state)
            seen[key] = seen.get(key, 0.0) + probability
        return sorted(((a, s, p) for (a, s), p in seen.items()), key=lambda c: -c[2])


def _score(option: Option, magnitude: float, dq: float | None, noise_w: float) -> tuple[float, float] | None:
    """Log-score and |dP| distance of an option; a joint option compares the summed step."""
    if len(option.signatures) == 1:
        signature = option.signatures[0]
        result = signature.match(magnitude, dq, noise_w, option.power)
        if result is None:
            return None
        ll, z = result
        return ll + math.log(signature.count + 1.0), z
    expected = option.power if option.power is not None else sum(s.power() for s in option.signatures)
    spread = math.hypot(RELATIVE_SPREAD * expected, 2.0 * noise_w + 5.0) * math.sqrt(2.0)
    z = abs(magnitude - expected) / spread
    if z > NOVELTY_Z:
        return None
    # Two appliances switching within one sample is rarer than one: a fixed prior penalty.
    return -0.5 * z * z - math.log(spread) - 2.0, z


def classify(magnitude: float, dq: float | None, options: Sequence[Option], noise_w: float) -> Decision:
    """Rank the options that may explain an event. `dq` is the step's reactive change seen as an ON."""
    scored: list[tuple[float, float, Option]] = []
    for option in options:
        result = _score(option, magnitude, dq, noise_w)
        if result is not None:
            scored.append((result[0], result[1], option))
    if not scored:
        return Decision([], 0.0)
    top = max(s[0] for s in scored)
    weights = [math.exp(s[0] - top) for s in scored]
    total = sum(weights)
    order = sorted(range(len(scored)), key=lambda k: -weights[k])
    ranked = [(scored[k][2], weights[k] / total) for k in order]
    best_z = scored[order[0]][1]
    # Closeness to the signature scales the posterior: a lone candidate far from its mean is not certain.
    closeness = math.exp(-0.5 * (best_z / 3.0) ** 2)
    return Decision(ranked, ranked[0][1] * closeness)
