"""Identification: Gaussian Naive Bayes over the step's features, gated by signature matching.

Each appliance state has a Signature: its labeled steps seen as ONs (an OFF is the negative of its ON). The
likelihood of an event under a signature multiplies per-feature Gaussians: |dP|; the reactive step dQ when both
sides know it; and for ONs the inrush (overshoot relative to the step), which tells a motor from a resistive load
of the same size. Each spread is a robust estimate from the labels (median and MAD, so one mislabeled step does
not blow it up), widened by the meter's noise and an appliance's usual drift. The inrush is the exception: a
motor's start shows at some ONs and not at others, so each labeled ON's inrush is a kernel of its own.
Signature matching gates the likelihoods first: an event whose |dP| lies too many spreads from a signature, or
whose power factor differs clearly, is not that signature. An event no signature admits is novel and stays
unidentified instead of being forced into a class. An OFF may also be explained by two running states ending
together (a joint option), and at minute data an ON by two states switching on in one reading (scored all at
once: there are hundreds of such pairs). Where a state's labeled OFFs far outnumber its labeled ONs, ONs are judged against
the ONs alone: an OFF's size holds what the load drifted during its run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
import math
from statistics import median
from typing import cast, overload

import numpy as np
from numpy.typing import NDArray

from .features import step_power_factor

# Appliances drift by a few percent between uses (supply voltage, temperature).
RELATIVE_SPREAD = 0.04
REACTIVE_FLOOR_VAR = 15.0
# Beyond this many spreads an event is not this signature at all.
NOVELTY_Z = 4.0
# Power factors of the same load differ by less than this between uses; beyond, a different load.
PF_TOLERANCE = 0.12
# Reactive spread assumed for a signature learned without Q, so options stay comparable.
REACTIVE_UNKNOWN_VAR = 200.0
# Log prior penalty per extra appliance in a joint option.
JOINT_PENALTY = 2.0
# Inrush feature: the width of each labeled ON's kernel (log scale), and the width assumed where it was never
# learned.
INRUSH_FLOOR = 0.35
INRUSH_UNKNOWN = 2.0
# Labeled inrushes this close count as one kernel (a tenth of its width).
INRUSH_BIN = 0.035
# Median absolute deviation to standard deviation for Gaussian data.
MAD_TO_SD = 1.4826
# A state's labeled ONs alone describe its ONs once they are this many and its labeled OFFs more than this many
# times as many: a load's power drifts during a run (a freezer starts at 200 W and stops at 150 W), so OFFs
# labeled in bulk ("the freezer stopped") would move the pooled steps off the ONs they are matched against.
ON_ALONE_MIN = 3
OFF_EXCESS_RATIO = 2


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


def _kernels(values: Sequence[float]) -> tuple[tuple[float, float], ...]:
    """Labeled inrushes as kernels: (value, share); values within INRUSH_BIN of each other are one.

    A resistive load's dozens of labels all read about 0: one kernel, so an event is scored in a few steps.
    """
    bins = Counter(round(v / INRUSH_BIN) for v in values)
    return tuple((k * INRUSH_BIN, n / len(values)) for k, n in bins.items())


@dataclass(frozen=True, slots=True)
class LabeledStep:
    """One labeled step as the ON it is or mirrors: size, reactive part, and inrush (ONs only)."""

    event_id: str
    power_w: float
    reactive_var: float | None
    inrush: float | None


@dataclass(frozen=True, slots=True)
class Profile:
    """A signature's statistics per feature (None where no labeled step had that feature)."""

    power: Stats
    reactive: Stats | None
    # The inrush of each labeled ON, as (value, share of the ONs). A motor's start lasts less than a reading,
    # so whether a reading caught it depends on when the reading fell: a fridge labeled at three starts showed
    # it at one. Their median would say "no inrush" and count the next start that shows one against it.
    inrush: tuple[tuple[float, float], ...]


def _profile_of(entries: Sequence[LabeledStep]) -> Profile:
    """Robust centre and spread of each feature over these labeled steps."""
    power = robust_stats([e.power_w for e in entries])
    if power is None:
        raise ValueError("a signature without steps has no statistics")
    return Profile(
        power,
        robust_stats([e.reactive_var for e in entries if e.reactive_var is not None]),
        _kernels([e.inrush for e in entries if e.inrush is not None]),
    )


def inrush_feature(magnitude: float, overshoot_w: float) -> float:
    """Overshoot relative to the step, compressed: a motor's start stands out, noise stays near 0."""
    return math.log1p(max(0.0, overshoot_w) / max(magnitude, 1.0))


@dataclass(slots=True)
class Signature:
    """What the classifier knows about one appliance state: its labeled steps, as ON magnitudes."""

    appliance_id: str
    state: str
    entries: list[LabeledStep] = field(default_factory=list)
    # Statistics are recomputed only after the entries change (classification runs per event).
    _profile: Profile | None = field(default=None, init=False, repr=False, compare=False)
    _on_profile: Profile | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of_step(
        cls, appliance_id: str, state: str, power_w: float, reactive_var: float | None
    ) -> Signature:
        """A signature known from one ON step (its size and reactive part), no label behind it."""
        step = LabeledStep(state, abs(power_w), reactive_var, None)
        return cls(appliance_id, state, [step])

    @property
    def count(self) -> int:
        """How many labeled steps back this signature."""
        return len(self.entries)

    def power(self) -> float:
        """Typical ON step (W): the median, robust to one mislabeled event."""
        return self.profile().power.centre

    def add(
        self, event_id: str, dp: float, dq: float | None, limit: int, overshoot_w: float = 0.0
    ) -> None:
        """Learn one step (sign-free: ON and OFF steps of a state have the same size).

        The inrush is learned from ONs only: an OFF's transient says nothing about the start.
        """
        self.remove(event_id)
        self.entries.append(
            LabeledStep(
                event_id,
                abs(dp),
                None if dq is None else (dq if dp >= 0 else -dq),
                inrush_feature(dp, overshoot_w) if dp > 0 else None,
            )
        )
        del self.entries[:-limit]
        self._profile = None
        self._on_profile = None

    def absorb(self, other: Signature, limit: int) -> None:
        """Take over another signature's steps (appliances merged)."""
        self.entries = [*self.entries, *other.entries][-limit:]
        self._profile = None
        self._on_profile = None

    def remove(self, event_id: str) -> bool:
        """Forget one step; true when it was there."""
        before = len(self.entries)
        self.entries = [e for e in self.entries if e.event_id != event_id]
        self._profile = None
        self._on_profile = None
        return len(self.entries) != before

    def profile(self) -> Profile:
        """Robust centre and spread of each feature over the labeled steps."""
        if self._profile is None:
            self._profile = _profile_of(self.entries)
        return self._profile

    def on_profile(self) -> Profile:
        """What an ON is judged against: all labeled steps, or the labeled ONs once OFFs swamp them."""
        if self._on_profile is None:
            ons = [e for e in self.entries if e.inrush is not None]
            swamped = len(self.entries) - len(ons) > OFF_EXCESS_RATIO * len(ons)
            self._on_profile = (
                _profile_of(ons) if len(ons) >= ON_ALONE_MIN and swamped else self.profile()
            )
        return self._on_profile

    def match(
        self,
        magnitude: float,
        dq: float | None,
        noise_w: float,
        power: float | None = None,
        inrush: float | None = None,
    ) -> tuple[float, float] | None:
        """Log-likelihood of a step under this signature and its |dP| distance in spreads, or None.

        `dq` is the step's reactive change seen as an ON (negated for OFF steps). `power`, when given,
        replaces the signature's typical step: an OFF should remove what its ON added. None means the
        signature does not admit the step (too far in |dP|, or a clearly different power factor).
        """
        return _likelihood([self.profile()], power, magnitude, dq, noise_w, inrush)


@overload
def step_sd(spread_sq: float, expected: float, noise_w: float) -> float: ...
@overload
def step_sd(
    spread_sq: NDArray[np.float64], expected: NDArray[np.float64], noise_w: float
) -> NDArray[np.float64]: ...
def step_sd(
    spread_sq: float | NDArray[np.float64],
    expected: float | NDArray[np.float64],
    noise_w: float,
) -> float | NDArray[np.float64]:
    """Spread of an expected step: the parts' spreads (squared, summed), drift, and the meter's noise."""
    return (spread_sq + (RELATIVE_SPREAD * expected) ** 2 + (2.0 * noise_w + 5.0) ** 2) ** 0.5


@overload
def reactive_sd(spread_sq: float, centre: float) -> float: ...
@overload
def reactive_sd(
    spread_sq: NDArray[np.float64], centre: NDArray[np.float64]
) -> NDArray[np.float64]: ...
def reactive_sd(
    spread_sq: float | NDArray[np.float64], centre: float | NDArray[np.float64]
) -> float | NDArray[np.float64]:
    """Spread of an expected reactive step: the parts' spreads (squared, summed), a tenth of it, a floor."""
    return (spread_sq + (0.1 * centre) ** 2 + REACTIVE_FLOOR_VAR**2) ** 0.5


def admitted(signatures: Sequence[Signature], magnitude: float, noise_w: float) -> list[int]:
    """Which signatures (their indices) the |dP| gate admits for a step as their typical step.

    The gate of a single option, applied to all signatures at once: most of dozens of states are nowhere
    near the step, and need not be scored one by one.
    """
    if not signatures:
        return []
    centre, spread_sq = _power_stats(signatures)
    return [int(k) for k in np.nonzero(_gated(magnitude, centre, spread_sq, noise_w))[0]]


@dataclass(frozen=True, slots=True)
class Pairs:
    """Pairs of signatures that may switch together, as rows of `signatures` (`first[k]` with `second[k]`).

    Index arrays, not an Option per pair: at minute data an ON weighs hundreds of pairs of states that were
    off, and one by one they took most of the engine's time on a house of 40 appliances.
    """

    signatures: Sequence[Signature]
    first: NDArray[np.intp]
    second: NDArray[np.intp]
    # Each pair's summed typical ON step and squared spread, as the gate weighed them.
    expected: NDArray[np.float64]
    variance: NDArray[np.float64]

    def __len__(self) -> int:
        """How many pairs."""
        return len(self.first)

    def option(self, k: int) -> Option:
        """Pair k as a joint option (two states switching together by their typical steps)."""
        return Option((self.signatures[self.first[k]], self.signatures[self.second[k]]))


def joint_candidates(signatures: Sequence[Signature], magnitude: float, noise_w: float) -> Pairs:
    """Pairs of signatures of different appliances whose summed step the |dP| gate admits.

    The gate of a joint option, applied to all pairs at once: most pairs are nowhere near the step.
    """
    if len(signatures) < 2:
        none = np.zeros(0, dtype=np.intp)
        return Pairs(signatures, none, none, np.zeros(0), np.zeros(0))
    centre, spread_sq = _power_stats(signatures)
    expected = centre[:, None] + centre[None, :]
    variance = spread_sq[:, None] + spread_sq[None, :]
    first, second = np.nonzero(np.triu(_gated(magnitude, expected, variance, noise_w), k=1))
    codes: dict[str, int] = {}
    appliance = np.array([codes.setdefault(s.appliance_id, len(codes)) for s in signatures])
    apart = appliance[first] != appliance[second]
    first, second = first[apart], second[apart]
    return Pairs(signatures, first, second, expected[first, second], variance[first, second])


def _power_stats(
    signatures: Sequence[Signature],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each signature's typical step and squared spread, as arrays."""
    profiles = [sig.on_profile() for sig in signatures]
    centre = np.array([profile.power.centre for profile in profiles])
    spread_sq = np.array([profile.power.spread**2 for profile in profiles])
    return centre, spread_sq


def _gated(
    magnitude: float,
    expected: NDArray[np.float64],
    spread_sq: NDArray[np.float64],
    noise_w: float,
) -> NDArray[np.bool_]:
    """Which expected steps the |dP| gate admits the step for (the form `_likelihood` applies to one)."""
    return np.asarray(
        np.abs(magnitude - expected) <= NOVELTY_Z * step_sd(spread_sq, expected, noise_w)
    )


def _likelihood(
    parts: list[Profile],
    power: float | None,
    magnitude: float,
    dq: float | None,
    noise_w: float,
    inrush: float | None,
) -> tuple[float, float] | None:
    """Gaussian log-likelihood of a step switching these parts together, and its |dP| distance in spreads.

    The expected step is `power` when known (what the ON added), else the sum of the parts' centres;
    spreads add in quadrature, widened by drift and the meter's noise. None when the gate rejects it.
    """
    expected = power if power is not None else sum(p.power.centre for p in parts)
    sd = step_sd(sum(p.power.spread**2 for p in parts), expected, noise_w)
    miss = abs(magnitude - expected)
    # The gate in the form `_gated` applies to many options at once, so both agree to the last bit.
    if miss > NOVELTY_Z * sd:
        return None
    z = miss / sd
    ll = -0.5 * z * z - math.log(sd)
    if inrush is not None:
        known = parts[0].inrush if len(parts) == 1 else ()
        if not known:
            ll -= math.log(INRUSH_UNKNOWN)
        else:
            # A mixture of Gaussians, one per kernel, weighed by its share (log-sum-exp: exp underflows far
            # from every kernel).
            exponents = [(-0.5 * ((inrush - value) / INRUSH_FLOOR) ** 2, w) for value, w in known]
            top = max(x for x, _ in exponents)
            mixture = sum(w * math.exp(x - top) for x, w in exponents)
            ll += top + math.log(mixture) - math.log(INRUSH_FLOOR)
    if dq is None:
        return ll, z
    reactive = [p.reactive for p in parts]
    if any(q is None for q in reactive):
        # No reactive knowledge: an uninformative, equal-for-all width keeps options comparable.
        return ll - math.log(REACTIVE_UNKNOWN_VAR), z
    q_centre = sum(q.centre for q in reactive if q is not None)
    q_sd = reactive_sd(sum(q.spread**2 for q in reactive if q is not None), q_centre)
    zq = (dq - q_centre) / q_sd
    pf_event = step_power_factor(magnitude, dq)
    pf_expected = step_power_factor(expected, q_centre)
    # A clearly different power factor (beyond the meter's reactive noise) is another load.
    pf_differs = (
        pf_event is not None
        and pf_expected is not None
        and abs(pf_event - pf_expected) > PF_TOLERANCE
    )
    if pf_differs and abs(zq) > NOVELTY_Z:
        return None
    return ll - 0.5 * zq * zq - math.log(q_sd), z


@dataclass(frozen=True, slots=True)
class Option:
    """One way to explain an event: switching these signatures (one, or two together) by this power."""

    signatures: tuple[Signature, ...]
    power: float | None = None
    # Log prior adjustment from context (a state already on is an unlikely ON).
    prior: float = 0.0

    @property
    def lead(self) -> Signature:
        """The signature that names the option: its largest part."""
        if len(self.signatures) == 1:
            return self.signatures[0]
        return max(self.signatures, key=lambda s: s.power())


@dataclass(frozen=True, slots=True)
class Decision:
    """The classifier's answer for one event: the winning option, how sure it is, and the candidates.

    `best` is None when no signature admits the event. `candidates` holds (appliance id, state,
    probability) best first; a joint option is named by its largest part.
    """

    best: Option | None
    confidence: float
    candidates: list[tuple[str, str, float]]


def _score(
    option: Option, magnitude: float, dq: float | None, noise_w: float, inrush: float | None
) -> tuple[float, float] | None:
    """Log-score (likelihood and prior) and |dP| distance of an option."""
    # An ON (the only event with an inrush feature) is judged against what describes ONs.
    parts = [s.on_profile() if inrush is not None else s.profile() for s in option.signatures]
    result = _likelihood(parts, option.power, magnitude, dq, noise_w, inrush)
    if result is None:
        return None
    ll, z = result
    # Better-known signatures are likelier a priori; two appliances switching within one sample is
    # rarer than one, hence a fixed penalty for joint options.
    support = min(s.count for s in option.signatures)
    penalty = JOINT_PENALTY * (len(option.signatures) - 1)
    return ll + math.log(support + 1.0) - penalty + option.prior, z


def _pair_scores(
    pairs: Pairs, magnitude: float, dq: float | None, noise_w: float, inrush: float | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """`_score` of every pair as a joint option, at once: the same terms over arrays (-inf where rejected).

    A joint option's expected step is the sum of its parts' typical ON steps (the pairs passed the |dP|
    gate on them), its inrush is never known, and it has no context prior;
    `test_pairs_score_as_joint_options_do` holds both forms to each other.
    """
    a, b = pairs.first, pairs.second
    expected = pairs.expected
    sd = step_sd(pairs.variance, expected, noise_w)
    z = np.abs(magnitude - expected) / sd
    ll = -0.5 * z * z - np.log(sd)
    inside = np.ones(len(pairs), dtype=bool)
    if inrush is not None:
        ll -= math.log(INRUSH_UNKNOWN)
    if dq is not None:
        reactive = [s.on_profile().reactive for s in pairs.signatures]
        learned = np.array([q is not None for q in reactive])
        known = learned[a] & learned[b]
        q_at = np.array([0.0 if q is None else q.centre for q in reactive])
        q_spread_sq = np.array([0.0 if q is None else q.spread**2 for q in reactive])
        q_centre = q_at[a] + q_at[b]
        q_sd = reactive_sd(q_spread_sq[a] + q_spread_sq[b], q_centre)
        zq = (dq - q_centre) / q_sd
        pf_event = step_power_factor(magnitude, dq)
        if pf_event is not None:
            # A clearly different power factor (beyond the meter's reactive noise) is another load.
            apparent = np.hypot(expected, q_centre)
            with np.errstate(invalid="ignore", divide="ignore"):
                pf_expected = np.abs(expected) / apparent
            differs = known & (apparent > 0) & (np.abs(pf_event - pf_expected) > PF_TOLERANCE)
            inside = ~(differs & (np.abs(zq) > NOVELTY_Z))
        ll += np.where(known, -0.5 * zq * zq - np.log(q_sd), -math.log(REACTIVE_UNKNOWN_VAR))
    count = np.array([s.count for s in pairs.signatures], dtype=np.float64)
    score = ll + np.log(np.minimum(count[a], count[b]) + 1.0) - JOINT_PENALTY
    return np.where(inside, score, -np.inf), z


def classify(
    magnitude: float,
    dq: float | None,
    options: Sequence[Option],
    noise_w: float,
    inrush: float | None = None,
    pairs: Pairs | None = None,
) -> Decision:
    """Rank the options that may explain an event.

    `dq` is the step's reactive change seen as an ON; `inrush` the ON's inrush feature (None for OFFs);
    `pairs` are further options, two states switching on together by their typical steps, after `options`.
    """
    scores: list[float] = []
    distances: list[float] = []
    chosen: list[Option] = []
    for option in options:
        result = _score(option, magnitude, dq, noise_w, inrush)
        if result is not None:
            scores.append(result[0])
            distances.append(result[1])
            chosen.append(option)
    named = [option.lead for option in chosen]
    kept: list[int] = []
    if pairs:
        pair_score, pair_z = _pair_scores(pairs, magnitude, dq, noise_w, inrush)
        kept = np.flatnonzero(np.isfinite(pair_score)).tolist()
        scores += pair_score[kept].tolist()
        distances += pair_z[kept].tolist()
        # Named by the larger part (the first of equals, as `Option.lead`).
        power = np.array([s.power() for s in pairs.signatures])
        a, b = pairs.first[kept], pairs.second[kept]
        named += [pairs.signatures[k] for k in np.where(power[b] > power[a], b, a).tolist()]
    if not scores:
        return Decision(None, 0.0, [])
    top_score = max(scores)
    weights = [math.exp(score - top_score) for score in scores]
    total = sum(weights)
    probability = [w / total for w in weights]
    # Stable: equals keep their order.
    order = sorted(range(len(weights)), key=weights.__getitem__, reverse=True)
    top = order[0]
    best = chosen[top] if top < len(chosen) else cast(Pairs, pairs).option(kept[top - len(chosen)])
    # Sure of the appliance when its options together win, whichever of its states end.
    winner = named[top].appliance_id
    posterior = sum(
        p for p, sig in zip(probability, named, strict=True) if sig.appliance_id == winner
    )
    # Closeness to the signature scales the posterior: a lone candidate far from its mean is not certain.
    closeness = math.exp(-0.5 * (distances[top] / 3.0) ** 2)
    seen: dict[tuple[str, str], float] = {}
    for k in order:
        key = (named[k].appliance_id, named[k].state)
        seen[key] = seen.get(key, 0.0) + probability[k]
    candidates = sorted(((a, s, p) for (a, s), p in seen.items()), key=lambda c: -c[2])
    return Decision(best, min(1.0, posterior) * closeness, candidates)
