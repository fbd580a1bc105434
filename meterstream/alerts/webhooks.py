"""Webhook definitions every API host shares: a compacted topic (key = webhook id, value = the
definition with its signing secret), read whole by each process (meterstream/state).

Each API process mirrors the table into its SQLite file (`AlertStore.mirror_webhook`), where
its relay makes deliveries and its sender signs them: so an alert relayed by any host reaches a
webhook created on any other. The mirror is updated on the table's reader thread before the
reader moves on, so a create or delete that returned has reached this host's mirror too; other
hosts' mirrors follow within milliseconds, and a relay catches up with the table (`sync`)
before it records a batch, so "the webhooks its tenant had when the alert arrived" holds across
hosts. Deleting writes the definition again with `disabled_at`; every mirror then fails that
webhook's pending deliveries, as deleting did on one host.

The topic holds the secrets (a sender needs them to sign): give it the ACLs the API's own
credentials have, no wider.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from meterstream.alerts.store import AlertStore, Webhook, new_webhook, now
from meterstream.settings import Settings
from meterstream.state import LatestByKey, TopicTable


def _value(webhook: Webhook, secret: str) -> dict[str, Any]:
    return {"webhook_id": webhook.webhook_id, "tenant_id": webhook.tenant_id, "url": webhook.url,
            "description": webhook.description, "secret": secret, "created_at": webhook.created_at.isoformat(),
            "disabled_at": None if webhook.disabled_at is None else webhook.disabled_at.isoformat()}


def _webhook(value: dict[str, Any]) -> Webhook:
    disabled = value.get("disabled_at")
    return Webhook(value["webhook_id"], value["tenant_id"], value["url"], value.get("description", ""),
                   datetime.fromisoformat(value["created_at"]), None if disabled is None else datetime.fromisoformat(disabled))


class WebhookRegistry:
    """The shared definitions; with `mirror`, kept in step with this host's SQLite file."""

    def __init__(self, settings: Settings, mirror: AlertStore | None = None) -> None:
        self.mirror = mirror
        self._lock = threading.Lock()
        self._unmirrored: set[str] = set()  # keys whose mirror write failed, to write again
        self.table: TopicTable[LatestByKey] = TopicTable(
            settings, settings.topic_webhooks, LatestByKey(), on_change=self._mirror if mirror else None)

    def _mirror(self, key: str, value: dict[str, Any] | None) -> None:
        if value is None or self.mirror is None:
            return
        try:
            self.mirror.mirror_webhook(_webhook(value), value["secret"])
        except Exception:  # e.g. the file locked for long: the relay tries again before its next batch
            with self._lock:
                self._unmirrored.add(key)
            raise
        with self._lock:
            self._unmirrored.discard(key)

    def sync(self) -> None:
        """Catch up with the topic and make sure the mirror has every definition (the relay
        calls this before it records a batch; raises if the mirror still cannot take one)."""
        self.table.sync()
        with self._lock:
            keys = sorted(self._unmirrored)
        for key in keys:
            value = self._get(key)
            self._mirror(key, value)

    def _get(self, webhook_id: str) -> dict[str, Any] | None:
        with self.table.lock:
            return self.table.view.values.get(webhook_id)

    def create_webhook(self, tenant_id: str, url: str, description: str = "") -> tuple[Webhook, str]:
        """A new webhook and its signing secret (returned here only; listing never shows it)."""
        webhook, secret = new_webhook(tenant_id, url, description)
        self.table.put(webhook.webhook_id, _value(webhook, secret))
        return webhook, secret

    def list_webhooks(self, tenant_id: str | None = None) -> list[Webhook]:
        """Active webhooks, oldest first; every tenant's when `tenant_id` is None."""
        self.table.sync()
        with self.table.lock:
            values = list(self.table.view.values.values())
        found = [_webhook(v) for v in values
                 if v.get("disabled_at") is None and (tenant_id is None or v["tenant_id"] == tenant_id)]
        return sorted(found, key=lambda w: (w.created_at, w.webhook_id))

    def get_webhook(self, webhook_id: str, tenant_id: str | None = None) -> Webhook | None:
        """The webhook (deleted ones too), or None if unknown or another tenant's."""
        self.table.sync([webhook_id])
        value = self._get(webhook_id)
        if value is None or (tenant_id is not None and value["tenant_id"] != tenant_id):
            return None
        return _webhook(value)

    def delete_webhook(self, webhook_id: str, tenant_id: str | None = None) -> Webhook | None:
        """Disable it (idempotent): no new deliveries, pending ones fail. None if not found."""
        if self.get_webhook(webhook_id, tenant_id) is None:
            return None
        value = self._get(webhook_id)
        assert value is not None
        if value.get("disabled_at") is None:
            value = {**value, "disabled_at": now().isoformat()}
            self.table.put(webhook_id, value)
        return _webhook(value)

    def publish_local(self) -> int:
        """Put on the topic the webhooks of the mirror file that the topic lacks (a file from
        before webhooks were shared); returns how many. Idempotent."""
        if self.mirror is None:
            return 0
        self.table.sync()
        published = 0
        for webhook, secret in self.mirror.all_webhooks():
            if self._get(webhook.webhook_id) is None:
                self.table.put(webhook.webhook_id, _value(webhook, secret))
                published += 1
        return published

    def wait_ready(self) -> WebhookRegistry:
        self.table.wait_ready()
        return self

    def close(self) -> None:
        self.table.close()
