"""The combinatorial-optimisation (CO) baseline, behind the Engine's interface.

At every sample it picks the combination of appliance states whose summed power best matches the mains. It
learns the state powers from the same labels the Engine gets.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .core import Engine
from .model import Update

# Exhaustive search over 2^n combinations: beyond this many states the baseline refuses (it would not finish).
MAX_STATES = 16


class CombinatorialEngine(Engine):
    """Events and labels as in Engine; powers from a per-sample exhaustive combination search."""

    def feed_arrays(
        self,
        t: ArrayLike,
        p: ArrayLike,
        q: ArrayLike | None = None,
        i: ArrayLike | None = None,
        v: ArrayLike | None = None,
        pf: ArrayLike | None = None,
        *,
        powers: dict[str, NDArray[np.float64]] | None = None,
    ) -> Update:
        """Detect and label events as the Engine does, then replace its powers with the CO estimate."""
        # The tracker's powers are not asked for: the search decides each sample alone.
        update = super().feed_arrays(t, p, q, i, v, pf)
        if powers is None or update.accepted == 0:
            return update
        t_arr = np.asarray(t, dtype=np.float64).ravel()
        p_arr = np.asarray(p, dtype=np.float64).ravel()
        kept = p_arr[np.isfinite(t_arr) & np.isfinite(p_arr)][-update.accepted :]
        powers.update(co_disaggregate(kept - self.baseload_w, self.state_powers()))
        return update

    def state_powers(self) -> list[tuple[str, float]]:
        """(appliance id, mean ON step) of every learned state."""
        return [(key[0], sig.power()) for key, sig in self.signatures.items()][:MAX_STATES]


def co_disaggregate(
    mains: NDArray[np.float64], states: list[tuple[str, float]]
) -> dict[str, NDArray[np.float64]]:
    """Per appliance, its power per sample under the best-matching combination of states."""
    if not states:
        return {}
    combos = np.array(list(itertools.product((0.0, 1.0), repeat=len(states))))
    levels = np.array([power for _, power in states])
    totals = combos @ levels
    best = np.abs(mains[:, None] - totals[None, :]).argmin(axis=1)
    out: dict[str, NDArray[np.float64]] = {}
    for column, (appliance_id, power) in enumerate(states):
        out.setdefault(appliance_id, np.zeros(mains.size))
        out[appliance_id] += combos[best, column] * power
    return out


def search_cost(max_states: int = 14, samples: int = 2000) -> list[dict[str, float]]:
    """How the exhaustive search grows with the number of appliance states: 2^n combinations per sample."""
    rng = np.random.default_rng(0)
    mains = rng.uniform(0, 5000, samples)
    rows = []
    for n in range(1, max_states + 1):
        states = [(f"a{k}", float(p)) for k, p in enumerate(rng.uniform(50, 2500, n))]
        start = time.perf_counter()
        co_disaggregate(mains, states)
        elapsed = time.perf_counter() - start
        rows.append({"states": n, "combinations": 2.0**n, "us_per_sample": elapsed / samples * 1e6})
    return rows
