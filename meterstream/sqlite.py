"""The small SQLite file the API and the CLI share (keys, sessions, alerts, webhooks).

WAL mode lets the CLI and one or more `serve` processes open it at once; each call opens a
short-lived connection, so a store is safe from any thread. Autocommit: a write that spans
statements opens its own `BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout=10000")
        yield db
    finally:
        db.close()


@contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken at once (no lock upgrade that could fail as busy)."""
    with connect(path) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def create(path: Path, schema: str) -> None:
    """Make the folder and the file, switch it to WAL, and create what `schema` lists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)
