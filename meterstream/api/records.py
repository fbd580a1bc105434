"""API keys and sessions as records on their compacted topics, and the rules that turn those
records into state. Pure: no Kafka here (meterstream/state/table.py reads the topics).

**Keys** (`usage.api-keys`, key = key id): the latest record of a key is the key; revoking
writes the whole record again with `revoked_at`. Only the SHA-256 of the secret is stored.
A key may carry `expires_at`: past it the key is refused (`key_refusal`), on every host alike,
since the time is in the record; a record written before keys could expire has none.

**Sessions** (`usage.sessions`): every record of a session goes to the session id's partition,
so the partition's offset order is one order that every API process reads alike.

- A *claim* starts a session: `<session_id>/claim/<claim_id>`, with the tenant, user, labels
  and start time. **The first claim of a session id in its partition wins**; later claims are
  ignored. Two hosts that start one id for two tenants at the same moment both write a claim,
  wait until they read it back, and both then see the same first claim: one tenant gets the
  session, the other 403, on every host. Last-writer-wins would let the later writer take a
  session the earlier one was already told it owned.
- An *end* ends it: `<session_id>/end/<end_id>`, applied only when its tenant owns the session,
  and only the first one (ending again keeps the first end time).

Each claim and end has a key of its own, so compaction (which keeps the latest record per key)
never removes the first claim or the first end: a process reading the compacted topic later
computes the same winner and end time as one that read every record as it came.
"""

from __future__ import annotations

import heapq
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any


def now() -> datetime:
    return datetime.now(UTC)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    tenant_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None

    def expired(self, at: datetime) -> bool:
        return self.expires_at is not None and at >= self.expires_at

    def status(self, at: datetime) -> str:
        """"revoked", "expired" or "active" at `at` (a revoked key stays revoked once it also expires)."""
        return "revoked" if self.revoked_at is not None else "expired" if self.expired(at) else "active"


@dataclass(frozen=True, slots=True)
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


# --- keys -------------------------------------------------------------------------------


def key_value(key: ApiKey, secret_sha256: str) -> dict[str, Any]:
    return {"key_id": key.key_id, "tenant_id": key.tenant_id, "name": key.name, "secret_sha256": secret_sha256,
            "created_at": key.created_at.isoformat(),
            "revoked_at": None if key.revoked_at is None else key.revoked_at.isoformat(),
            "expires_at": None if key.expires_at is None else key.expires_at.isoformat()}


def api_key(value: dict[str, Any]) -> ApiKey:
    return ApiKey(value["key_id"], value["tenant_id"], value.get("name", ""),
                  datetime.fromisoformat(value["created_at"]), _time(value.get("revoked_at")),
                  _time(value.get("expires_at")))


def key_refusal(key: ApiKey, at: datetime) -> str | None:
    """Why a genuine key is refused at `at` (revoked, or past its expiry), or None if it is live."""
    if key.revoked_at is not None:
        return f"API key {key.key_id} was revoked at {key.revoked_at.isoformat()}"
    if key.expires_at is not None and key.expired(at):
        return f"API key {key.key_id} expired at {key.expires_at.isoformat()}"
    return None


# --- sessions ---------------------------------------------------------------------------


def claim(session: SessionRecord) -> tuple[str, dict[str, Any]]:
    """The record (key, value) that claims `session.session_id` for its tenant."""
    claim_id = uuid.uuid4().hex
    return f"{session.session_id}/claim/{claim_id}", {
        "kind": "claim", "session_id": session.session_id, "claim_id": claim_id, "tenant_id": session.tenant_id,
        "user_id": session.user_id, "labels": session.labels, "started_at": session.started_at.isoformat(),
        "started_by": session.started_by,
    }


def end(session_id: str, tenant_id: str, at: datetime) -> tuple[str, dict[str, Any]]:
    """The record (key, value) that ends the tenant's session at `at`."""
    return f"{session_id}/end/{uuid.uuid4().hex}", {
        "kind": "end", "session_id": session_id, "tenant_id": tenant_id, "ended_at": at.isoformat()}


class SessionLog:
    """The sessions topic as a table: session id → the winning claim, with its first end."""

    def __init__(self) -> None:
        self.sessions: dict[str, SessionRecord] = {}
        self.by_tenant: dict[str, list[str]] = {}
        self.ignored = 0  # claims that lost, ends that did not apply

    def apply(self, key: str, value: dict[str, Any] | None, partition: int, offset: int) -> None:
        if value is None:  # nothing deletes a session; a tombstone only tidies the topic
            return
        try:
            kind, session_id = value["kind"], value["session_id"]
            if kind == "claim":
                self._claim(session_id, value)
            elif kind == "end":
                self._end(session_id, value)
            else:
                raise ValueError(f"unknown kind {kind!r}")
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a session record: {error!r}") from None

    def _claim(self, session_id: str, value: dict[str, Any]) -> None:
        if session_id in self.sessions:
            self.ignored += 1
            return
        record = SessionRecord(
            session_id=session_id, tenant_id=value["tenant_id"], started_at=datetime.fromisoformat(value["started_at"]),
            started_by=value["started_by"], user_id=value.get("user_id"), labels=dict(value.get("labels") or {}),
        )
        self.sessions[session_id] = record
        self.by_tenant.setdefault(record.tenant_id, []).append(session_id)

    def _end(self, session_id: str, value: dict[str, Any]) -> None:
        record = self.sessions.get(session_id)
        if record is None or record.tenant_id != value["tenant_id"] or record.ended_at is not None:
            self.ignored += 1
            return
        self.sessions[session_id] = replace(record, ended_at=datetime.fromisoformat(value["ended_at"]))

    def newest(self, tenant_id: str, limit: int) -> list[SessionRecord]:
        """The tenant's sessions, newest first."""
        records = (self.sessions[s] for s in self.by_tenant.get(tenant_id, ()))
        return heapq.nlargest(limit, records, key=lambda r: (r.started_at, r.session_id))
