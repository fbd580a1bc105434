"""This host's alert feed, webhook mirror and delivery outbox: tables in its SQLite file.

Webhook definitions are shared by every API host on a compacted topic (webhooks.py); each
host mirrors them into its `webhooks` table, so an alert recorded here gets one delivery per
webhook its tenant has, whichever host created it. The rest is the host's own:

- `alerts`: the feed, one row per alert id, filled by two readers of `usage.alerts`: the feed
  reader (feed.py) reads the whole topic, so this host's list and push stream show alerts that
  any host relayed; the relay (relay.py, a consumer group shared by the hosts) records its share
  for delivery. Recording the same id again changes nothing. Its rowid is the feed's order here.
- `relayed_alerts`: the ids this host's relay took for delivery; deliveries are made once per id,
  when it first lands here, so a replayed record never makes a second delivery.
- `deliveries`: one row per (alert, webhook), for every webhook of its tenant active then. A
  sender claims due rows with a lease (one UPDATE, so two senders on one file never hold the
  same row at once) and writes the outcome back under its lease.
- `delivery_attempts`: one row per HTTP try: when, what came back, how long it took.
- `notifications`: webhook messages that are not alerts (e.g. `statement.closed`), each with
  its ready-made body. They share the deliveries queue (their id in `alert_id`), and so the
  signing, retries, leases and delivery log; they are not in the alert feed.
- `feed_positions`: where the feed reader goes on after a restart.

Times are ISO-8601 UTC text with microseconds, so they compare correctly as text.
"""

from __future__ import annotations

import base64
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from meterstream import sqlite
from meterstream.schemas.alerts import AlertRecord

SECRET_PREFIX = "whsec_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (
    webhook_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT
);
CREATE INDEX IF NOT EXISTS webhooks_by_tenant ON webhooks (tenant_id, created_at);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    record TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_tenant ON alerts (tenant_id);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT,
    lease_until TEXT,
    lease_token TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TEXT,
    PRIMARY KEY (alert_id, webhook_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_by_webhook ON deliveries (webhook_id, created_at);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    alert_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    response_body TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS attempts_by_delivery ON delivery_attempts (webhook_id, alert_id, at);
CREATE TABLE IF NOT EXISTS notifications (
    notification_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS relayed_alerts (alert_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS feed_positions (partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL);
"""

RESPONSE_BODY_CHARS = 500


def now() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    tenant_id: str
    url: str
    description: str
    created_at: datetime
    disabled_at: datetime | None = None


@dataclass(frozen=True)
class StoredAlert:
    seq: int  # the feed's order
    record: AlertRecord
    received_at: datetime


@dataclass(frozen=True)
class Claim:
    """A due delivery leased to one sender until `lease_until`."""

    alert_id: str
    webhook_id: str
    url: str
    secret: str
    record_json: str
    attempts: int  # tries made before this one
    began_at: datetime  # when the delivery was made: retries stop max_age after it
    token: str
    lease_until: datetime
    body: str | None = None  # a notification's ready-made body; None for an alert (built from record_json)


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_body: str = ""


@dataclass(frozen=True)
class Delivery:
    alert_id: str
    webhook_id: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    tries: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """What a finished try leaves behind: the delivery's new status and the try itself."""

    status: str  # pending | delivered | failed
    attempt: Attempt
    error: str | None = None
    next_attempt_at: datetime | None = None


def new_webhook(tenant_id: str, url: str, description: str = "") -> tuple[Webhook, str]:
    """A new webhook with a fresh id, and its signing secret."""
    return Webhook(f"wh_{secrets.token_hex(8)}", tenant_id, url, description, now()), new_secret()


class AlertStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        fresh = not path.exists() or not _has_table(path, "relayed_alerts")
        sqlite.create(path, _SCHEMA)
        if fresh:  # a file from before the feed reader: every alert in it was relayed here
            with sqlite.connect(self.path) as db:
                db.execute("INSERT OR IGNORE INTO relayed_alerts SELECT alert_id FROM alerts")

    # --- webhooks (this host's mirror of the shared definitions, webhooks.py) -------------

    def create_webhook(self, tenant_id: str, url: str, description: str = "") -> tuple[Webhook, str]:
        """A new webhook known to this file only (the shared way is WebhookRegistry)."""
        webhook, secret = new_webhook(tenant_id, url, description)
        self.mirror_webhook(webhook, secret)
        return webhook, secret

    def mirror_webhook(self, webhook: Webhook, secret: str) -> None:
        """Take a webhook's latest definition; a disabled one fails its pending deliveries here."""
        with sqlite.transaction(self.path) as db:
            db.execute(
                "INSERT INTO webhooks (webhook_id, tenant_id, url, description, secret, created_at, disabled_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (webhook_id) DO UPDATE SET url = excluded.url, "
                "description = excluded.description, secret = excluded.secret, "
                "disabled_at = coalesce(webhooks.disabled_at, excluded.disabled_at)",
                (webhook.webhook_id, webhook.tenant_id, webhook.url, webhook.description, secret,
                 _ts(webhook.created_at), None if webhook.disabled_at is None else _ts(webhook.disabled_at)),
            )
            if webhook.disabled_at is not None:
                _fail_pending(db, webhook.webhook_id)

    def list_webhooks(self, tenant_id: str | None = None) -> list[Webhook]:
        """Active webhooks, oldest first; every tenant's when `tenant_id` is None."""
        sql = f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE disabled_at IS NULL"
        args: tuple[str, ...] = ()
        if tenant_id is not None:
            sql, args = sql + " AND tenant_id = ?", (tenant_id,)
        with sqlite.connect(self.path) as db:
            rows = db.execute(sql + " ORDER BY created_at, webhook_id", args).fetchall()
        return [_webhook(row) for row in rows]

    def all_webhooks(self) -> list[tuple[Webhook, str]]:
        """Every webhook of the file, deleted ones too, with its secret."""
        with sqlite.connect(self.path) as db:
            rows = db.execute(f"SELECT {_WEBHOOK_COLUMNS}, secret FROM webhooks ORDER BY created_at").fetchall()
        return [(_webhook(row), row[6]) for row in rows]

    def get_webhook(self, webhook_id: str, tenant_id: str | None = None) -> Webhook | None:
        """The webhook (deleted ones too), or None if unknown or another tenant's."""
        with sqlite.connect(self.path) as db:
            row = db.execute(f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE webhook_id = ?",
                             (webhook_id,)).fetchone()
        if row is None or (tenant_id is not None and row[1] != tenant_id):
            return None
        return _webhook(row)

    def delete_webhook(self, webhook_id: str, tenant_id: str | None = None) -> Webhook | None:
        """Disable it (idempotent): no new deliveries, pending ones fail. None if not found."""
        if self.get_webhook(webhook_id, tenant_id) is None:
            return None
        at = _ts(now())
        with sqlite.transaction(self.path) as db:
            db.execute("UPDATE webhooks SET disabled_at = ? WHERE webhook_id = ? AND disabled_at IS NULL",
                       (at, webhook_id))
            _fail_pending(db, webhook_id)
        return self.get_webhook(webhook_id)

    # --- the feed -------------------------------------------------------------------------

    def record_alerts(self, records: Iterable[AlertRecord], at: datetime | None = None) -> list[AlertRecord]:
        """The relay's share: store alerts (if the feed does not have them yet) and, for an id
        not relayed here before, one pending delivery per active webhook of its tenant.
        Returns the newly relayed ones."""
        received = _ts(at or now())
        new: list[AlertRecord] = []
        with sqlite.transaction(self.path) as db:
            for record in records:
                _insert_alert(db, record, received)
                if not db.execute("INSERT OR IGNORE INTO relayed_alerts (alert_id) VALUES (?)",
                                  (record.alert_id,)).rowcount:
                    continue
                new.append(record)
                db.execute(
                    "INSERT OR IGNORE INTO deliveries (alert_id, webhook_id, status, attempts, created_at, "
                    "next_attempt_at) SELECT ?, webhook_id, 'pending', 0, ?, ? FROM webhooks "
                    "WHERE tenant_id = ? AND disabled_at IS NULL",
                    (record.alert_id, received, received, record.tenant_id),
                )
        return new

    def record_notification(self, notification_id: str, tenant_id: str, type: str, body: str,
                            at: datetime | None = None) -> bool:
        """Queue a webhook message for every active webhook of the tenant, once per id.

        `body` is sent as it is (the Standard Webhooks envelope, JSON). Recording an id again
        changes nothing and answers False, so a caller may record after every retry of its own.
        """
        created = _ts(at or now())
        with sqlite.transaction(self.path) as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO notifications (notification_id, tenant_id, type, body, created_at) "
                "VALUES (?, ?, ?, ?, ?)", (notification_id, tenant_id, type, body, created)).rowcount
            if inserted:
                db.execute(
                    "INSERT OR IGNORE INTO deliveries (alert_id, webhook_id, status, attempts, created_at, "
                    "next_attempt_at) SELECT ?, webhook_id, 'pending', 0, ?, ? FROM webhooks "
                    "WHERE tenant_id = ? AND disabled_at IS NULL",
                    (notification_id, created, created, tenant_id),
                )
        return bool(inserted)

    def add_to_feed(self, records: Iterable[AlertRecord], positions: dict[int, int],
                    at: datetime | None = None) -> int:
        """The feed reader's batch: the alerts not here yet, and where to go on from; returns how many were new."""
        received = _ts(at or now())
        with sqlite.transaction(self.path) as db:
            new = sum(_insert_alert(db, record, received) for record in records)
            db.executemany("INSERT INTO feed_positions (partition, next_offset) VALUES (?, ?) ON CONFLICT "
                           "(partition) DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)",
                           list(positions.items()))
        return new

    def feed_positions(self) -> dict[int, int]:
        with sqlite.connect(self.path) as db:
            return dict(db.execute("SELECT partition, next_offset FROM feed_positions").fetchall())

    def list_alerts(self, tenant_id: str | None = None, limit: int = 50,
                    kinds: Iterable[str] | None = None) -> list[StoredAlert]:
        """The newest alerts first; only those of `kinds` when given."""
        kinds = sorted(str(kind) for kind in kinds) if kinds is not None else None
        conditions = [f"kind IN ({', '.join('?' * len(kinds))})"] if kinds else []
        where, args = _tenant_filter(tenant_id, *conditions)
        with sqlite.connect(self.path) as db:
            rows = db.execute(f"SELECT rowid, record, received_at FROM alerts {where} ORDER BY rowid DESC LIMIT ?",
                              (*args, *(kinds or ()), limit)).fetchall()
        return [_alert(row) for row in rows]

    def alerts_after(self, seq: int, tenant_id: str | None = None, limit: int = 100) -> list[StoredAlert]:
        """Alerts recorded after position `seq` of the feed, oldest first."""
        where, args = _tenant_filter(tenant_id, "rowid > ?")
        with sqlite.connect(self.path) as db:
            rows = db.execute(f"SELECT rowid, record, received_at FROM alerts {where} ORDER BY rowid LIMIT ?",
                              (*args, seq, limit)).fetchall()
        return [_alert(row) for row in rows]

    def last_seq(self) -> int:
        """The feed's current end: follow it with `alerts_after(last_seq())`."""
        with sqlite.connect(self.path) as db:
            return db.execute("SELECT coalesce(max(rowid), 0) FROM alerts").fetchone()[0]

    # --- delivery -------------------------------------------------------------------------

    def claim_due(self, at: datetime, lease_seconds: float, limit: int) -> list[Claim]:
        """Lease up to `limit` deliveries due at `at` whose lease is free (none, or expired)."""
        if limit <= 0:
            return []
        token = secrets.token_hex(8)
        stamp, lease_until = _ts(at), at + timedelta(seconds=lease_seconds)
        with sqlite.transaction(self.path) as db:
            keys = db.execute(
                "UPDATE deliveries SET lease_until = ?, lease_token = ? WHERE rowid IN ("
                " SELECT rowid FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at LIMIT ?"
                ") RETURNING alert_id, webhook_id",
                (_ts(lease_until), token, stamp, stamp, limit),
            ).fetchall()
            rows = [db.execute(
                "SELECT d.alert_id, d.webhook_id, w.url, w.secret, a.record, d.attempts, d.created_at, n.body "
                "FROM deliveries d JOIN webhooks w USING (webhook_id) LEFT JOIN alerts a USING (alert_id) "
                "LEFT JOIN notifications n ON n.notification_id = d.alert_id "
                "WHERE d.alert_id = ? AND d.webhook_id = ?", key).fetchone() for key in keys]
        return [Claim(r[0], r[1], r[2], r[3], r[4] or "", r[5], datetime.fromisoformat(r[6]), token, lease_until,
                      body=r[7])
                for r in rows if r is not None and (r[4] is not None or r[7] is not None)]

    def finish(self, claim: Claim, outcome: Outcome) -> bool:
        """Log the try and set the delivery's new state; False if the lease was lost meanwhile
        (expired and taken by another sender, or the webhook deleted): then only the try is logged."""
        attempt = outcome.attempt
        with sqlite.transaction(self.path) as db:
            db.execute(
                "INSERT INTO delivery_attempts (alert_id, webhook_id, at, status_code, error, duration_ms, "
                "response_body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (claim.alert_id, claim.webhook_id, _ts(attempt.at), attempt.status_code, attempt.error,
                 attempt.duration_ms, attempt.response_body[:RESPONSE_BODY_CHARS]),
            )
            updated = db.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, lease_until = NULL, "
                "lease_token = NULL, last_status_code = ?, last_error = ?, delivered_at = ? "
                "WHERE alert_id = ? AND webhook_id = ? AND lease_token = ?",
                (outcome.status, None if outcome.next_attempt_at is None else _ts(outcome.next_attempt_at),
                 attempt.status_code, outcome.error,
                 _ts(attempt.at) if outcome.status == "delivered" else None,
                 claim.alert_id, claim.webhook_id, claim.token),
            ).rowcount
        return bool(updated)

    def release(self, claims: Iterable[Claim]) -> None:
        """Give leases back without a try (a sender stopping), so another can send at once."""
        with sqlite.transaction(self.path) as db:
            db.executemany(
                "UPDATE deliveries SET lease_until = NULL, lease_token = NULL "
                "WHERE alert_id = ? AND webhook_id = ? AND lease_token = ?",
                [(c.alert_id, c.webhook_id, c.token) for c in claims],
            )

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[Delivery]:
        """The webhook's deliveries, newest first, each with its tries oldest first."""
        with sqlite.connect(self.path) as db:
            rows = db.execute(
                "SELECT alert_id, webhook_id, status, attempts, created_at, next_attempt_at, last_status_code, "
                "last_error, delivered_at FROM deliveries WHERE webhook_id = ? "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?", (webhook_id, limit)).fetchall()
            tries: dict[str, list[Attempt]] = {}
            for t in db.execute(
                "SELECT alert_id, at, status_code, error, duration_ms, response_body FROM delivery_attempts "
                "WHERE webhook_id = ? ORDER BY at, rowid", (webhook_id,)):
                tries.setdefault(t[0], []).append(Attempt(datetime.fromisoformat(t[1]), t[2], t[3], t[4], t[5]))
        return [Delivery(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4]), _time(r[5]), r[6], r[7], _time(r[8]),
                         tries.get(r[0], [])) for r in rows]

    def pending_count(self) -> int:
        with sqlite.connect(self.path) as db:
            return db.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]


_WEBHOOK_COLUMNS = "webhook_id, tenant_id, url, description, created_at, disabled_at"


def _has_table(path: Path, name: str) -> bool:
    with sqlite.connect(path) as db:
        return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _insert_alert(db: sqlite3.Connection, record: AlertRecord, received: str) -> int:
    """1 if the alert is new to the feed, else 0 (left as it is)."""
    return db.execute(
        "INSERT OR IGNORE INTO alerts (alert_id, tenant_id, kind, raised_at, record, received_at) VALUES (?, ?, ?, ?, ?, ?)",
        (record.alert_id, record.tenant_id, record.kind.value, _ts(record.raised_at), record.model_dump_json(), received),
    ).rowcount


def _fail_pending(db: sqlite3.Connection, webhook_id: str) -> None:
    """A deleted webhook's pending deliveries fail; clearing the lease token also voids the
    outcome of a try still in flight."""
    db.execute(
        "UPDATE deliveries SET status = 'failed', last_error = 'webhook deleted', next_attempt_at = NULL, "
        "lease_until = NULL, lease_token = NULL WHERE webhook_id = ? AND status = 'pending'",
        (webhook_id,),
    )


def _webhook(row: tuple) -> Webhook:
    return Webhook(row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]), _time(row[5]))


def _alert(row: tuple) -> StoredAlert:
    return StoredAlert(row[0], AlertRecord.model_validate_json(row[1]), datetime.fromisoformat(row[2]))


def _tenant_filter(tenant_id: str | None, *conditions: str) -> tuple[str, tuple[str, ...]]:
    parts, args = list(conditions), ()
    if tenant_id is not None:
        parts, args = ["tenant_id = ?", *parts], (tenant_id,)
    return ("WHERE " + " AND ".join(parts)) if parts else "", args


__all__ = ["AlertStore", "Attempt", "Claim", "Delivery", "Outcome", "StoredAlert", "Webhook", "new_secret", "new_webhook"]
