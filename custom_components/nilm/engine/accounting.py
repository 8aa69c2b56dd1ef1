"""The readings between events: appliance powers and energy, timeouts and reconsiderations at their row."""

from __future__ import annotations

import numpy as np

from .model import Update
from .reconsider import Reconsideration
from .state import FloatArray, add_revised


class Accounting(Reconsideration):
    """Integrates energy and gives appliance powers over the rows of a batch."""

    def _integrate_from_previous(self, t0: float) -> None:
        """Energy of the interval between the previous batch's last sample and this batch's first."""
        if self.last_t is None or self.mains_w is None or self.gap_pending:
            self.gap_pending = False
            return
        dt = t0 - self.last_t
        if dt > self.config.gap_s:
            return
        mains = np.array([self.mains_w])
        self._account(mains, np.array([dt]), self.tracker.shares(mains))

    def _integrate(
        self,
        t: FloatArray,
        p: FloatArray,
        start: int,
        stop: int,
        powers: dict[str, FloatArray] | None,
    ) -> None:
        """Energy of rows [start, stop) at the current on-powers (each row's power holds until the next row)."""
        if stop <= start:
            return
        mains = p[start:stop]
        share = self.tracker.shares(mains)
        if powers is not None:
            for appliance_id, (power, _state) in self.tracker.appliance_powers().items():
                column = powers.setdefault(appliance_id, np.zeros(t.size))
                if column.size != t.size:
                    continue
                column[start:stop] = power * share
        end = min(stop, t.size - 1)
        if end <= start:
            return
        dt = t[start + 1 : end + 1] - t[start:end]
        dt = np.where(dt > self.config.gap_s, 0.0, dt)
        if self.ledger.period_end is None or t[end] >= self.ledger.period_end:
            self._roll_period(t, start, end)
        self._account(mains[: end - start], dt, share[: end - start])

    def _integrate_span(
        self,
        t: FloatArray,
        p: FloatArray,
        start: int,
        stop: int,
        powers: dict[str, FloatArray] | None,
        update: Update,
    ) -> None:
        """Integrate rows [start, stop) between two events, stopping at each deadline inside them.

        A state times out, and an unknown load or a long run is reconsidered, at its own row, as if fed one
        sample at a time, not at the batch's next event.
        """
        while (deadline := self._next_deadline()) is not None:
            cut = int(np.searchsorted(t, deadline, side="right"))
            if cut >= stop:
                break
            cut = max(cut, start)
            self._integrate(t, p, start, cut, powers)
            self._recheck(float(t[cut]), None, 0.0)
            for event in self._reconsider(float(t[cut])):
                add_revised(update, event)
            start = cut
        self._integrate(t, p, start, stop, powers)

    def _roll_period(self, t: FloatArray, start: int, end: int) -> None:
        self.ledger.roll(float(t[start]), self.config.billing_day, self.zone)
        if self.ledger.period_end is not None and t[end] >= self.ledger.period_end:
            # A batch spanning a period boundary is rare (a replay); charge it to the period it starts in.
            self.ledger.roll(float(t[end]), self.config.billing_day, self.zone)

    def _account(self, mains: FloatArray, dt: FloatArray, share: FloatArray) -> None:
        price = self.config.price_per_kwh
        for appliance_id, (power, _state) in self.tracker.appliance_powers().items():
            self.ledger.add(appliance_id, power * float(np.dot(share, dt)), price)
        explained = self.tracker.total_w() * share
        unidentified = np.maximum(0.0, mains - self.baseload_w - explained)
        self.ledger.add_mains(
            float(np.dot(np.maximum(mains, 0.0), dt)), float(np.dot(unidentified, dt)), price
        )
