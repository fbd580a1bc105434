"""The API's own state, API keys and sessions, on compacted Kafka topics every API host reads.

Why Kafka and not a file or ClickHouse: several API hosts behind a load balancer must agree on
them (a key made on one works on all; a session ended on one is ended on all), the embedded
default must need no server beyond the broker it already runs, and `meterstream keys …`
must work beside running servers without finding them. Each process reads both topics whole
into memory at start (meterstream/state/table.py) and answers from there; the rules that
turn records into state, and why they hold under concurrency, are in records.py.

What each operation costs and promises:

- `authenticate`: a dict lookup and a constant-time hash compare, no round trip
  (`authenticate_known`, which the API runs on its event loop). A key id this process has not
  seen yet is looked for once more after catching up with the topic (in a thread), so a key
  created on another host a moment ago works on the first try.
- Expiry: a key created with `expires_at` is refused from that instant on, by every host and the
  CLI alike, with no write at all: the time is in the record each of them holds.
- `create_key` / `revoke_key`: a write that returns once this process has read it back, so the
  next request here sees it. Other hosts read it within milliseconds (their readers long-poll
  the topic); we promise about a second. Revoking checks the latest state first, so a second
  revoke keeps the first time.
- Sessions: writes (claims and ends) return once read back. Decisions catch up with the
  session's partition first (`sync`, one ListOffsets round trip, shared by concurrent
  requests), so an end acknowledged on any host before a usage request arrived refuses that
  usage with 409 here, and a claim is decided by the partition's order (records.py).
  A session this process already knows as ended or as another tenant's needs no round trip:
  neither ever changes back. `sessions_for_usage` decides a batch's sessions in one go: one
  catch-up of their partitions, the new ones claimed together.

Keys look like `msk_<key_id>_<secret>`. The secret is 256 random bits, so a fast hash is
enough (no dictionary to guess from). The full key is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime

from meterstream.api.errors import ApiError, SessionEnded, SessionNotFound, SessionOfAnotherTenant, Unauthorized
from meterstream.api.records import ApiKey, SessionLog, SessionRecord, api_key, claim, end, key_refusal, key_value, now
from meterstream.errors import MeterstreamError
from meterstream.settings import Settings
from meterstream.state import LatestByKey, TopicTable

KEY_PREFIX = "msk_"
# Portal tokens' signing secrets share the keys topic (tokens.py, PortalSecrets below).
SECRET_PREFIX = "portal-secret/"

__all__ = ["ApiKey", "ApiStore", "KeyStore", "SessionRecord", "SessionStore", "split_key"]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """`msk_<key_id>_<secret>` -> (key_id, secret), or None if it is not shaped like a key."""
    if not key.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = key[len(KEY_PREFIX):].partition("_")
    return (key_id, secret) if sep and key_id and secret else None


class KeyStore:
    """API keys, from the keys topic. Safe from any thread."""

    def __init__(self, settings: Settings) -> None:
        self.keys: TopicTable[LatestByKey] = TopicTable(settings, settings.topic_api_keys, LatestByKey())

    def _value(self, key_id: str) -> dict | None:
        with self.keys.lock:
            return self.keys.view.values.get(key_id)

    def create_key(self, tenant_id: str, name: str = "", expires_at: datetime | None = None) -> tuple[str, ApiKey]:
        """Create a key for `tenant_id`, valid until `expires_at` (None: until revoked); returns the
        full key (shown once) and its record."""
        if not re.fullmatch(r"[A-Za-z0-9_.:@/+-]{1,128}", tenant_id):
            raise MeterstreamError(f"tenant id {tenant_id!r} must be 1-128 of A-Z a-z 0-9 _ . : @ / + -")
        created = now()
        if expires_at is not None and (expires_at.tzinfo is None or expires_at <= created):
            raise MeterstreamError(f"expiry {expires_at.isoformat()} must be a time zone-aware time in the future")
        secret = secrets.token_urlsafe(32)
        record = ApiKey(key_id=secrets.token_hex(6), tenant_id=tenant_id, name=name, created_at=created,
                        expires_at=expires_at)
        self.keys.put(record.key_id, key_value(record, _hash(secret)))
        return f"{KEY_PREFIX}{record.key_id}_{secret}", record

    def authenticate(self, key: str) -> ApiKey:
        """The live key record for a presented key; Unauthorized if unknown, wrong, revoked or expired."""
        record = self.authenticate_known(key)
        if record is None:  # perhaps made on another host a moment ago
            self.keys.sync([key.removeprefix(KEY_PREFIX).partition("_")[0]])
            record = self.authenticate_known(key)
        if record is None:
            raise Unauthorized("unknown API key")
        return record

    def authenticate_known(self, key: str) -> ApiKey | None:
        """`authenticate` from what this process has read, with no round trip (safe on the event
        loop): None for a key id not seen here yet, which `authenticate` looks for once more."""
        parts = split_key(key)
        if parts is None:
            raise Unauthorized("malformed API key")
        key_id, secret = parts
        value = self._value(key_id)
        if value is None:
            return None
        if "secret_sha256" not in value or not hmac.compare_digest(value["secret_sha256"], _hash(secret)):
            raise Unauthorized("unknown API key")
        record = api_key(value)
        refusal = key_refusal(record, now())
        if refusal is not None:
            raise Unauthorized(refusal)
        return record

    def revoke_key(self, key_id: str, tenant_id: str | None = None) -> ApiKey | None:
        """Revoke a key (idempotent: the first revocation time stays); None if there is no such key
        (or, given `tenant_id`, none of that tenant's)."""
        self.keys.sync([key_id])
        value = self._value(key_id)
        if value is None or "secret_sha256" not in value:  # not a key (a portal token's signing secret)
            return None
        if tenant_id is not None and value["tenant_id"] != tenant_id:
            return None
        if value.get("revoked_at") is None:
            value = {**value, "revoked_at": now().isoformat()}
            self.keys.put(key_id, value)
        return api_key(value)

    def list_keys(self, tenant_id: str | None = None) -> list[ApiKey]:
        self.keys.sync()
        with self.keys.lock:
            values = list(self.keys.view.values.values())
        records = [api_key(v) for v in values
                   if "secret_sha256" in v and (tenant_id is None or v["tenant_id"] == tenant_id)]
        return sorted(records, key=lambda k: (k.created_at, k.key_id))

    def key_revoked(self, key_id: str) -> bool:
        """Whether the key is revoked, expired or unknown here (an in-memory look, no round trip)."""
        value = self._value(key_id)
        return value is None or "secret_sha256" not in value or key_refusal(api_key(value), now()) is not None

    def close(self) -> None:
        self.keys.close()


class PortalSecrets:
    """The secrets that sign portal tokens, the same on every API host.

    Every host must verify what any host signed. Two sources, in this order:

    - `METERSTREAM_API_TOKEN_SECRET`, set alike on every host: then only that secret signs and
      verifies, and nothing is written to Kafka (for deployments where Kafka's readers must not
      be able to mint tokens);
    - otherwise a random 256-bit secret on the keys topic (`portal-secret/<kid>`), which every
      host already reads whole: the first host that mints a token writes one, every other host
      then finds it. Two hosts that write one at the same instant leave two, both valid, because a
      token names its secret's `kid` and a host looks up a `kid` it has not seen after catching up.

    A file under the data dir would not do: each host has its own.
    """

    def __init__(self, keys: KeyStore, configured: str | None) -> None:
        self.keys = keys
        self.configured = None if not configured else (
            "cfg-" + hashlib.sha256(configured.encode()).hexdigest()[:12], configured.encode())

    def _shared(self) -> dict[str, dict]:
        with self.keys.keys.lock:
            return {k[len(SECRET_PREFIX):]: v for k, v in self.keys.keys.view.values.items()
                    if k.startswith(SECRET_PREFIX)}

    def signing(self) -> tuple[str, bytes]:
        """(kid, secret) to sign a new token with."""
        if self.configured is not None:
            return self.configured
        shared = self._shared()
        if not shared:
            self.keys.keys.sync()
            shared = self._shared()
        if not shared:
            kid = secrets.token_hex(6)
            self.keys.keys.put(SECRET_PREFIX + kid, {"kind": "portal-secret", "kid": kid,
                                                     "secret": secrets.token_urlsafe(32),
                                                     "created_at": now().isoformat()})
            shared = self._shared()
        kid, value = min(shared.items(), key=lambda item: (item[1]["created_at"], item[0]))
        return kid, value["secret"].encode()

    def get(self, kid: str) -> bytes | None:
        """The secret named `kid`, or None if it is not one this host accepts."""
        if self.configured is not None:
            return self.configured[1] if kid == self.configured[0] else None
        if not re.fullmatch(r"[0-9a-f]{12}", kid):
            return None
        value = self._shared().get(kid)
        if value is None:  # perhaps written on another host a moment ago
            self.keys.keys.sync([SECRET_PREFIX + kid])
            value = self._shared().get(kid)
        return None if value is None else value["secret"].encode()


class SessionStore:
    """Sessions, from the sessions topic. Safe from any thread."""

    def __init__(self, settings: Settings) -> None:
        self.sessions: TopicTable[SessionLog] = TopicTable(settings, settings.topic_sessions, SessionLog())

    def _session(self, session_id: str) -> SessionRecord | None:
        with self.sessions.lock:
            return self.sessions.view.sessions.get(session_id)

    def _latest(self, session_id: str) -> SessionRecord | None:
        self.sessions.sync([session_id])
        return self._session(session_id)

    def _claim(self, record: SessionRecord) -> SessionRecord:
        """Claim the session id for the record's tenant; returns the winner (perhaps another tenant's)."""
        key, value = claim(record)
        self.sessions.put(key, value, partition_key=record.session_id)
        winner = self._session(record.session_id)
        assert winner is not None  # our own claim, if no earlier one
        return winner

    def start_session(self, tenant_id: str, user_id: str | None = None,
                      labels: dict[str, str] | None = None) -> SessionRecord:
        """Start a session with a server-generated id."""
        return self._claim(SessionRecord(
            session_id=f"ses_{uuid.uuid4().hex}", tenant_id=tenant_id, started_at=now(),
            started_by="explicit", user_id=user_id, labels=dict(labels or {}),
        ))

    def session_for_usage(self, tenant_id: str, session_id: str, user_id: str | None) -> SessionRecord:
        """The session a usage event goes to, started implicitly if new; refuses ended or foreign ones."""
        found = self.sessions_for_usage(tenant_id, {session_id: user_id})[session_id]
        if isinstance(found, ApiError):
            raise found
        return found

    def sessions_for_usage(self, tenant_id: str,
                           users: dict[str, str | None]) -> dict[str, SessionRecord | ApiError]:
        """`session_for_usage` for several sessions (id -> the user that starts it if new) at once:
        one catch-up of their partitions, the new ones claimed together. Per session its record,
        or the error that refuses it."""
        known = {session_id: self._session(session_id) for session_id in users}
        live = [session_id for session_id, record in known.items()
                if record is not None and record.tenant_id == tenant_id and record.active]
        if live:  # an end written elsewhere a moment ago decides
            self.sessions.sync(live)
        new = [SessionRecord(session_id=session_id, tenant_id=tenant_id, started_at=now(), started_by="implicit",
                             user_id=users[session_id]) for session_id, record in known.items() if record is None]
        if new:
            self.sessions.put_many([(*claim(record), record.session_id) for record in new])
        found: dict[str, SessionRecord | ApiError] = {}
        for session_id in users:
            record = self._session(session_id)
            assert record is not None  # our own claim, if no earlier one
            if record.tenant_id != tenant_id:
                found[session_id] = SessionOfAnotherTenant(session_id)
            elif record.ended_at is not None:
                found[session_id] = SessionEnded(session_id, record.ended_at)
            else:
                found[session_id] = record
        return found

    def get_session(self, tenant_id: str, session_id: str) -> SessionRecord | None:
        """The tenant's session, or None when unknown here (it may still exist in the stream)."""
        record = self._latest(session_id)
        if record is not None and record.tenant_id != tenant_id:
            raise SessionNotFound(session_id)
        return record

    def known_session(self, session_id: str) -> SessionRecord | None:
        """The session as this process has read it so far: no round trip (what a push watches)."""
        return self._session(session_id)

    def end_session(self, tenant_id: str, session_id: str) -> SessionRecord:
        """End a session (idempotent: ending it again keeps the first end time)."""
        record = self.get_session(tenant_id, session_id)
        if record is None:
            raise SessionNotFound(session_id)
        if record.active:
            key, value = end(session_id, tenant_id, now())
            self.sessions.put(key, value, partition_key=session_id)
            record = self._session(session_id)
            assert record is not None
        return record

    def list_sessions(self, tenant_id: str, limit: int = 50) -> list[SessionRecord]:
        self.sessions.sync()
        with self.sessions.lock:
            return self.sessions.view.newest(tenant_id, limit)

    def close(self) -> None:
        self.sessions.close()


class ApiStore(KeyStore, SessionStore):
    """Both, as the API uses them: `wait_ready` before answering the first request."""

    def __init__(self, settings: Settings) -> None:
        KeyStore.__init__(self, settings)
        try:
            SessionStore.__init__(self, settings)
        except BaseException:
            KeyStore.close(self)
            raise

    def wait_ready(self) -> ApiStore:
        self.keys.wait_ready()
        self.sessions.wait_ready()
        return self

    def close(self) -> None:
        KeyStore.close(self)
        SessionStore.close(self)
