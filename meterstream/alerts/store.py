"""The alert feed, webhooks and their delivery log: tables in the API's SQLite file.

Same file as keys and sessions (`ApiSettings().state_file(settings)`), so `meterstream
alerts` and `meterstream webhooks …` work while `serve` runs, and several API processes
sharing the file share one feed and one delivery queue.

- `alerts`: one row per alert id; recording the same id again changes nothing, so a replayed
  or re-raised record never makes a second delivery. Its rowid is the feed's order.
- `deliveries`: one row per (alert, webhook), made when the alert is recorded, for every
  webhook of its tenant active then. A sender claims due rows with a lease (one UPDATE, so
  two processes never hold the same row at once) and writes the outcome back under its lease.
- `delivery_attempts`: one row per HTTP try: when, what came back, how long it took.
- `notifications`: webhook messages that are not alerts (e.g. `statement.closed`), each with
  its ready-made body. They share the deliveries queue (their id in `alert_id`), and so the
  signing, retries, leases and delivery log; they are not in the alert feed.

Times are ISO-8601 UTC text with microseconds, so they compare correctly as text.
"""

from __future__ import annotations

import base64
import secrets
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


class AlertStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        sqlite.create(path, _SCHEMA)

    # --- webhooks -------------------------------------------------------------------------

    def create_webhook(self, tenant_id: str, url: str, description: str = "") -> tuple[Webhook, str]:
        """A new webhook and its signing secret (returned here only; listing never shows it)."""
        webhook = Webhook(f"wh_{secrets.token_hex(8)}", tenant_id, url, description, now())
        secret = new_secret()
        with sqlite.connect(self.path) as db:
            db.execute(
                "INSERT INTO webhooks (webhook_id, tenant_id, url, description, secret, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (webhook.webhook_id, tenant_id, url, description, secret, _ts(webhook.created_at)),
            )
        return webhook, secret

    def list_webhooks(self, tenant_id: str | None = None) -> list[Webhook]:
        """Active webhooks, oldest first; every tenant's when `tenant_id` is None."""
        sql = f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE disabled_at IS NULL"
        args: tuple[str, ...] = ()
        if tenant_id is not None:
            sql, args = sql + " AND tenant_id = ?", (tenant_id,)
        with sqlite.connect(self.path) as db:
            rows = db.execute(sql + " ORDER BY created_at, webhook_id", args).fetchall()
        return [_webhook(row) for row in rows]

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
            # Clearing the lease token also voids the outcome of a try still in flight.
            db.execute(
                "UPDATE deliveries SET status = 'failed', last_error = 'webhook deleted', next_attempt_at = NULL, "
                "lease_until = NULL, lease_token = NULL WHERE webhook_id = ? AND status = 'pending'",
                (webhook_id,),
            )
        return self.get_webhook(webhook_id)

    # --- the feed -------------------------------------------------------------------------

    def record_alerts(self, records: Iterable[AlertRecord], at: datetime | None = None) -> list[AlertRecord]:
        """Store alerts and one pending delivery per active webhook of each one's tenant.

        An id already stored is left as it is (no new deliveries). Returns the new ones.
        """
        received = _ts(at or now())
        new: list[AlertRecord] = []
        with sqlite.transaction(self.path) as db:
            for record in records:
                inserted = db.execute(
                    "INSERT OR IGNORE INTO alerts (alert_id, tenant_id, kind, raised_at, record, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (record.alert_id, record.tenant_id, record.kind.value, _ts(record.raised_at),
                     record.model_dump_json(), received),
                ).rowcount
                if not inserted:
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

    def list_alerts(self, tenant_id: str | None = None, limit: int = 50) -> list[StoredAlert]:
        """The newest alerts first."""
        where, args = _tenant_filter(tenant_id)
        with sqlite.connect(self.path) as db:
            rows = db.execute(f"SELECT rowid, record, received_at FROM alerts {where} ORDER BY rowid DESC LIMIT ?",
                              (*args, limit)).fetchall()
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


def _webhook(row: tuple) -> Webhook:
    return Webhook(row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]), _time(row[5]))


def _alert(row: tuple) -> StoredAlert:
    return StoredAlert(row[0], AlertRecord.model_validate_json(row[1]), datetime.fromisoformat(row[2]))


def _tenant_filter(tenant_id: str | None, *conditions: str) -> tuple[str, tuple[str, ...]]:
    parts, args = list(conditions), ()
    if tenant_id is not None:
        parts, args = ["tenant_id = ?", *parts], (tenant_id,)
    return ("WHERE " + " AND ".join(parts)) if parts else "", args


__all__ = ["AlertStore", "Attempt", "Claim", "Delivery", "Outcome", "StoredAlert", "Webhook", "new_secret"]
