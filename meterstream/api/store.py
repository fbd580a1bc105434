"""The API's own state: API keys and sessions, in one small SQLite file under the data dir.

Why SQLite and not ClickHouse: an embedded ClickHouse folder can be open in one process
only, but `meterstream keys …` must work while `meterstream serve` runs. SQLite (WAL mode)
lets both open the file at once, so the CLI never has to find or talk to the server, and
the data is tiny (one row per key, one per session).

Keys look like `msk_<key_id>_<secret>`. Only the SHA-256 of the secret is stored: the
secret is 256 random bits, so a fast hash is enough (no dictionary to guess from) and a
lookup costs one indexed read. The full key is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from meterstream import sqlite
from meterstream.errors import MeterstreamError
from meterstream.api.errors import SessionEnded, SessionNotFound, SessionOfAnotherTenant, Unauthorized

KEY_PREFIX = "msk_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    secret_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    user_id TEXT,
    labels TEXT NOT NULL DEFAULT '{}',
    started_at TEXT NOT NULL,
    ended_at TEXT,
    started_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_tenant ON sessions (tenant_id, started_at);
"""


def _now() -> datetime:
    return datetime.now(UTC)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    tenant_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class SessionRecord:
    session_id: str
    tenant_id: str
    started_at: datetime
    started_by: str  # "explicit" (POST /v1/sessions) or "implicit" (its first usage event)
    user_id: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    ended_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """`msk_<key_id>_<secret>` -> (key_id, secret), or None if it is not shaped like a key."""
    if not key.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = key[len(KEY_PREFIX):].partition("_")
    return (key_id, secret) if sep and key_id and secret else None


class ApiStore:
    """Keys and sessions. Opens a short-lived connection per call, so it is safe from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        sqlite.create(path, _SCHEMA)

    def _db(self) -> AbstractContextManager[sqlite3.Connection]:
        return sqlite.connect(self.path)

    # --- keys -----------------------------------------------------------------------------

    def create_key(self, tenant_id: str, name: str = "") -> tuple[str, ApiKey]:
        """Create a key for `tenant_id`; returns the full key (shown once) and its record."""
        if not re.fullmatch(r"[A-Za-z0-9_.:@/+-]{1,128}", tenant_id):
            raise MeterstreamError(f"tenant id {tenant_id!r} must be 1-128 of A-Z a-z 0-9 _ . : @ / + -")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = ApiKey(key_id=key_id, tenant_id=tenant_id, name=name, created_at=_now())
        with self._db() as db:
            db.execute(
                "INSERT INTO api_keys (key_id, tenant_id, name, secret_sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                (key_id, tenant_id, name, _hash(secret), record.created_at.isoformat()),
            )
        return f"{KEY_PREFIX}{key_id}_{secret}", record

    def authenticate(self, key: str) -> ApiKey:
        """The live key record for a presented key; Unauthorized if unknown, wrong or revoked."""
        parts = split_key(key)
        if parts is None:
            raise Unauthorized("malformed API key")
        key_id, secret = parts
        with self._db() as db:
            row = db.execute(
                "SELECT tenant_id, name, secret_sha256, created_at, revoked_at FROM api_keys WHERE key_id = ?",
                (key_id,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[2], _hash(secret)):
            raise Unauthorized("unknown API key")
        if row[4] is not None:
            raise Unauthorized(f"API key {key_id} was revoked at {row[4]}")
        return ApiKey(key_id, row[0], row[1], datetime.fromisoformat(row[3]))

    def revoke_key(self, key_id: str) -> ApiKey | None:
        """Revoke a key (idempotent); None if there is no such key."""
        with self._db() as db:
            db.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                       (_now().isoformat(), key_id))
        return next((k for k in self.list_keys() if k.key_id == key_id), None)

    def list_keys(self, tenant_id: str | None = None) -> list[ApiKey]:
        sql = "SELECT key_id, tenant_id, name, created_at, revoked_at FROM api_keys"
        args: tuple[str, ...] = ()
        if tenant_id is not None:
            sql, args = sql + " WHERE tenant_id = ?", (tenant_id,)
        with self._db() as db:
            rows = db.execute(sql + " ORDER BY created_at, key_id", args).fetchall()
        return [ApiKey(r[0], r[1], r[2], datetime.fromisoformat(r[3]), _time(r[4])) for r in rows]

    # --- sessions -------------------------------------------------------------------------

    def start_session(self, tenant_id: str, user_id: str | None = None,
                      labels: dict[str, str] | None = None) -> SessionRecord:
        """Start a session with a server-generated id."""
        record = SessionRecord(
            session_id=f"ses_{uuid.uuid4().hex}", tenant_id=tenant_id, started_at=_now(),
            started_by="explicit", user_id=user_id, labels=dict(labels or {}),
        )
        self._insert(record)
        return record

    def session_for_usage(self, tenant_id: str, session_id: str, user_id: str | None) -> SessionRecord:
        """The session a usage event goes to, started implicitly if new; refuses ended or foreign ones."""
        self._insert(SessionRecord(session_id=session_id, tenant_id=tenant_id, started_at=_now(),
                                   started_by="implicit", user_id=user_id), ignore_existing=True)
        record = self._get(session_id)
        assert record is not None  # inserted or already there
        if record.tenant_id != tenant_id:
            raise SessionOfAnotherTenant(session_id)
        if record.ended_at is not None:
            raise SessionEnded(session_id, record.ended_at)
        return record

    def get_session(self, tenant_id: str, session_id: str) -> SessionRecord | None:
        """The tenant's session, or None when unknown here (it may still exist in the stream)."""
        record = self._get(session_id)
        if record is not None and record.tenant_id != tenant_id:
            raise SessionNotFound(session_id)
        return record

    def end_session(self, tenant_id: str, session_id: str) -> SessionRecord:
        """End a session (idempotent: ending it again keeps the first end time)."""
        if self.get_session(tenant_id, session_id) is None:
            raise SessionNotFound(session_id)
        with self._db() as db:
            db.execute("UPDATE sessions SET ended_at = ? WHERE session_id = ? AND ended_at IS NULL",
                       (_now().isoformat(), session_id))
        record = self._get(session_id)
        assert record is not None
        return record

    def list_sessions(self, tenant_id: str, limit: int = 50) -> list[SessionRecord]:
        with self._db() as db:
            rows = db.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE tenant_id = ? ORDER BY started_at DESC LIMIT ?",
                (tenant_id, limit),
            ).fetchall()
        return [_session(row) for row in rows]

    def _get(self, session_id: str) -> SessionRecord | None:
        with self._db() as db:
            row = db.execute(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE session_id = ?",
                             (session_id,)).fetchone()
        return None if row is None else _session(row)

    def _insert(self, record: SessionRecord, ignore_existing: bool = False) -> None:
        verb = "INSERT OR IGNORE" if ignore_existing else "INSERT"
        with self._db() as db:
            db.execute(
                f"{verb} INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.session_id, record.tenant_id, record.user_id, json.dumps(record.labels),
                 record.started_at.isoformat(), None, record.started_by),
            )


_SESSION_COLUMNS = "session_id, tenant_id, user_id, labels, started_at, ended_at, started_by"


def _session(row: tuple) -> SessionRecord:
    return SessionRecord(
        session_id=row[0], tenant_id=row[1], user_id=row[2], labels=json.loads(row[3]),
        started_at=datetime.fromisoformat(row[4]), ended_at=_time(row[5]), started_by=row[6],
    )
