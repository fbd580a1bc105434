"""Which holds are past their expiry: an index of hold expiries, not a scan of the table.

Decoding every stored value once a second took a third of the worker's time at 1,000
reservations/s (bench/, budgets scenario), and grew with the number of live holds. The
index learns each hold the ledger writes or deletes; once a minute it is rebuilt from the
table, which also finds holds restored from the changelog after a restart or a rebalance
(such a hold is released at most a minute late, never early).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from meterstream.budgets.ledger import HOLD_PREFIX, instant, tenant_of_hold

REINDEX_EVERY_SECONDS = 60.0


class HoldIndex:
    def __init__(self, reindex_every: float = REINDEX_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.reindex_every, self.clock = reindex_every, clock
        self.expiries: dict[str, dict[str, datetime]] = {}  # tenant -> reservation id -> expires at
        self._indexed_at = float("-inf")

    def note(self, writes: Iterable[tuple[str, Any]]) -> None:
        """Learn from table writes (key, value; None for a deletion): holds have keys of their own."""
        for key, hold in writes:
            if not key.startswith(HOLD_PREFIX):
                continue
            tenant, reservation_id = tenant_of_hold(key), key.rsplit(":", 1)[1]
            if hold is not None:
                self.expiries.setdefault(tenant, {})[reservation_id] = instant(hold["expires_at"])
                continue
            holds = self.expiries.get(tenant, {})
            holds.pop(reservation_id, None)
            if not holds:
                self.expiries.pop(tenant, None)

    def due(self, now: datetime, table_items: Callable[[], Iterable[tuple[str, Any]]]) -> dict[str, list[str]]:
        """Reservation ids past due at `now`, per tenant."""
        if self.clock() - self._indexed_at >= self.reindex_every:
            self.expiries.clear()
            self.note(table_items())
            self._indexed_at = self.clock()
        due = {tenant: [rid for rid, expires_at in holds.items() if expires_at <= now]
               for tenant, holds in self.expiries.items()}
        return {tenant: ids for tenant, ids in due.items() if ids}
