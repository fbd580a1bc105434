"""Moving a host's state from before the shared topics (keys, sessions and webhooks in its
SQLite file) onto Kafka, once, when the API starts.

Keys and sessions the topics lack are written to them as they were (a key keeps its hash and
its revocation; a session its tenant, start, and end); the old tables are then renamed
`*_moved_to_kafka`, so the next start does nothing. Webhooks stay in the file as this host's
mirror; the ones the topic lacks are published (WebhookRegistry.publish_local). Writing a
session that another host meanwhile claimed for another tenant changes nothing: its first
claim on the topic wins, as for any claim.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from meterstream import sqlite
from meterstream.alerts.webhooks import WebhookRegistry
from meterstream.api.records import ApiKey, SessionRecord, claim, end, key_value
from meterstream.api.store import ApiStore


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def import_local_state(path: Path, store: ApiStore, webhooks: WebhookRegistry) -> dict[str, int]:
    """Move what the file at `path` holds and the topics lack; returns how many of each."""
    moved = {"webhooks": webhooks.publish_local()}
    if not path.exists():
        return {k: n for k, n in moved.items() if n}
    with sqlite.connect(path) as db:
        tables = _tables(db)
        keys = db.execute("SELECT key_id, tenant_id, name, secret_sha256, created_at, revoked_at FROM api_keys"
                          ).fetchall() if "api_keys" in tables else []
        sessions = db.execute("SELECT session_id, tenant_id, user_id, labels, started_at, ended_at, started_by "
                              "FROM sessions").fetchall() if "sessions" in tables else []
    store.keys.sync()
    store.sessions.sync()
    moved["keys"] = moved["sessions"] = 0
    for key_id, tenant_id, name, sha256, created_at, revoked_at in keys:
        if store._value(key_id) is None:
            record = ApiKey(key_id, tenant_id, name, datetime.fromisoformat(created_at), _time(revoked_at))
            store.keys.put(key_id, key_value(record, sha256))
            moved["keys"] += 1
    for session_id, tenant_id, user_id, labels, started_at, ended_at, started_by in sessions:
        if store._session(session_id) is None:
            record = SessionRecord(session_id, tenant_id, datetime.fromisoformat(started_at), started_by, user_id,
                                   json.loads(labels))
            store.sessions.put(*claim(record), partition_key=session_id)
            if ended_at is not None:
                store.sessions.put(*end(session_id, tenant_id, datetime.fromisoformat(ended_at)),
                                   partition_key=session_id)
            moved["sessions"] += 1
    with sqlite.connect(path) as db:
        for table in sorted(tables & {"api_keys", "sessions"}):
            db.execute(f"ALTER TABLE {table} RENAME TO {table}_moved_to_kafka")
    return {k: n for k, n in moved.items() if n}
