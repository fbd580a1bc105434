"""One closer at a time per close unit, across processes: a lease row in the shared SQLite file.

ClickHouse has no transactions, and two closes of the same month computed a moment apart could
differ (an event stored in between). So a close takes the unit's lease first (one INSERT or
UPDATE in a write transaction: only one process wins it), re-reads whether the unit closed
meanwhile, and only then computes and writes. The others wait for the lease and then find the
unit closed, answering the statement the winner froze. A closer that dies leaves its lease to
expire (`LEASE_SECONDS`), after which another may close. The file is the API's state file, the
one `serve` processes and the CLI already share for keys, alerts and webhook deliveries.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from meterstream import sqlite

LEASE_SECONDS = 120.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS statement_close_leases (
    unit TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
"""


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class CloseLeases:
    def __init__(self, path: Path) -> None:
        self.path = path
        sqlite.create(path, _SCHEMA)

    def try_acquire(self, unit: str, seconds: float = LEASE_SECONDS) -> str | None:
        """The lease's token if this caller holds the unit now, else None."""
        token = secrets.token_hex(8)
        now = datetime.now(UTC)
        with sqlite.transaction(self.path) as db:
            row = db.execute("SELECT lease_until FROM statement_close_leases WHERE unit = ?", (unit,)).fetchone()
            if row is not None and row[0] > _ts(now):
                return None
            db.execute("INSERT OR REPLACE INTO statement_close_leases (unit, token, lease_until) VALUES (?, ?, ?)",
                       (unit, token, _ts(now + timedelta(seconds=seconds))))
        return token

    def acquire(self, unit: str, wait_seconds: float = LEASE_SECONDS + 5, poll: float = 0.05) -> str:
        """Wait for the unit's lease; TimeoutError if another closer holds it all that time."""
        deadline = time.monotonic() + wait_seconds
        while True:
            token = self.try_acquire(unit)
            if token is not None:
                return token
            if time.monotonic() > deadline:
                raise TimeoutError(f"another process is closing {unit}")
            time.sleep(poll)

    def release(self, unit: str, token: str) -> None:
        with sqlite.transaction(self.path) as db:
            db.execute("DELETE FROM statement_close_leases WHERE unit = ? AND token = ?", (unit, token))
