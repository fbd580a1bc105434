"""The alert feed and delivery queue in SQLite (meterstream/alerts/store.py)."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meterstream.alerts.store import AlertStore, Attempt, Outcome
from meterstream.schemas.alerts import ANOMALY_KINDS
from tests.alerting import anomaly_alert, threshold_alert

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> AlertStore:
    return AlertStore(tmp_path / "api.sqlite3")


def _attempt(code: int | None = 200) -> Attempt:
    return Attempt(at=T0, status_code=code, error=None if code else "timeout", duration_ms=12, response_body="ok")


def test_the_same_alert_recorded_twice_is_one_alert_with_one_delivery_per_webhook(store: AlertStore) -> None:
    first, _ = store.create_webhook("acme", "http://127.0.0.1:1/a")
    second, _ = store.create_webhook("acme", "http://127.0.0.1:1/b")
    alert = threshold_alert("acme")

    assert store.record_alerts([alert], T0) == [alert]
    assert store.record_alerts([alert], T0 + timedelta(seconds=5)) == []
    assert store.record_alerts([alert, alert], T0) == []

    assert [a.record.alert_id for a in store.list_alerts("acme")] == [alert.alert_id]
    assert [d.alert_id for d in store.deliveries(first.webhook_id)] == [alert.alert_id]
    assert [d.alert_id for d in store.deliveries(second.webhook_id)] == [alert.alert_id]
    assert len(store.claim_due(T0, 60, 100)) == 2


def test_an_alert_goes_only_to_its_own_tenants_active_webhooks(store: AlertStore) -> None:
    mine, _ = store.create_webhook("acme", "http://127.0.0.1:1/mine")
    deleted, _ = store.create_webhook("acme", "http://127.0.0.1:1/deleted")
    theirs, _ = store.create_webhook("globex", "http://127.0.0.1:1/theirs")
    store.delete_webhook(deleted.webhook_id, "acme")

    store.record_alerts([threshold_alert("acme")], T0)

    assert len(store.deliveries(mine.webhook_id)) == 1
    assert store.deliveries(deleted.webhook_id) == []
    assert store.deliveries(theirs.webhook_id) == []


def test_a_webhook_secret_is_a_standard_webhooks_secret_and_is_never_listed(store: AlertStore) -> None:
    webhook, secret = store.create_webhook("acme", "https://example.com/hook", "ops")
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert store.list_webhooks("acme") == [webhook]
    assert secret not in repr(store.list_webhooks())


def test_a_webhook_of_another_tenant_is_not_found(store: AlertStore) -> None:
    webhook, _ = store.create_webhook("acme", "https://example.com/hook")
    assert store.get_webhook(webhook.webhook_id, "globex") is None
    assert store.delete_webhook(webhook.webhook_id, "globex") is None
    assert store.list_webhooks("acme") == [webhook]


def test_a_leased_delivery_cannot_be_claimed_again_until_the_lease_expires(store: AlertStore) -> None:
    store.create_webhook("acme", "http://127.0.0.1:1/a")
    store.record_alerts([threshold_alert("acme")], T0)

    held = store.claim_due(T0, lease_seconds=30, limit=10)
    assert len(held) == 1
    assert store.claim_due(T0 + timedelta(seconds=29), 30, 10) == []
    retaken = store.claim_due(T0 + timedelta(seconds=31), 30, 10)
    assert [c.alert_id for c in retaken] == [held[0].alert_id]
    # The sender whose lease expired may not overwrite the new holder's outcome.
    assert not store.finish(held[0], Outcome("delivered", _attempt()))
    assert store.finish(retaken[0], Outcome("delivered", _attempt()))


def test_concurrent_claimers_never_hold_the_same_delivery(store: AlertStore) -> None:
    store.create_webhook("acme", "http://127.0.0.1:1/a")
    store.create_webhook("acme", "http://127.0.0.1:1/b")
    store.record_alerts([threshold_alert("acme", threshold=t) for t in range(50)], T0)

    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(lambda _: store.claim_due(T0, 60, 7), range(40)))

    claimed = [(c.alert_id, c.webhook_id) for batch in batches for c in batch]
    assert len(claimed) == 100
    assert len(set(claimed)) == 100


def test_a_delivery_is_due_again_only_at_its_next_attempt_time(store: AlertStore) -> None:
    webhook, _ = store.create_webhook("acme", "http://127.0.0.1:1/a")
    store.record_alerts([threshold_alert("acme")], T0)
    [claim] = store.claim_due(T0, 60, 10)
    retry_at = T0 + timedelta(seconds=8)
    assert store.finish(claim, Outcome("pending", _attempt(503), "HTTP 503", retry_at))

    assert store.claim_due(T0 + timedelta(seconds=7), 60, 10) == []
    [again] = store.claim_due(retry_at, 60, 10)
    assert again.attempts == 1
    [delivery] = store.deliveries(webhook.webhook_id)
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == ("pending", 503, "HTTP 503")
    assert [t.status_code for t in delivery.tries] == [503]


def test_the_delivery_log_keeps_every_try_and_the_final_state(store: AlertStore) -> None:
    webhook, _ = store.create_webhook("acme", "http://127.0.0.1:1/a")
    store.record_alerts([threshold_alert("acme")], T0)
    [claim] = store.claim_due(T0, 60, 10)
    store.finish(claim, Outcome("pending", _attempt(500), "HTTP 500", T0))
    [claim] = store.claim_due(T0, 60, 10)
    store.finish(claim, Outcome("delivered", Attempt(T0, 200, None, 5, "x" * 2000)))

    [delivery] = store.deliveries(webhook.webhook_id)
    assert delivery.status == "delivered" and delivery.attempts == 2 and delivery.delivered_at == T0
    assert [t.status_code for t in delivery.tries] == [500, 200]
    assert len(delivery.tries[-1].response_body) == 500
    assert store.claim_due(T0 + timedelta(days=1), 60, 10) == []


def test_deleting_a_webhook_fails_its_pending_deliveries_and_voids_a_try_in_flight(store: AlertStore) -> None:
    webhook, _ = store.create_webhook("acme", "http://127.0.0.1:1/a")
    store.record_alerts([threshold_alert("acme")], T0)
    [claim] = store.claim_due(T0, 60, 10)

    store.delete_webhook(webhook.webhook_id, "acme")

    assert not store.finish(claim, Outcome("delivered", _attempt()))
    [delivery] = store.deliveries(webhook.webhook_id)
    assert (delivery.status, delivery.last_error) == ("failed", "webhook deleted")
    assert store.list_webhooks("acme") == []


def test_released_leases_are_claimable_at_once(store: AlertStore) -> None:
    store.create_webhook("acme", "http://127.0.0.1:1/a")
    store.record_alerts([threshold_alert("acme")], T0)
    claims = store.claim_due(T0, 600, 10)
    store.release(claims)
    assert len(store.claim_due(T0, 600, 10)) == 1


def test_the_feed_is_newest_first_and_can_be_followed_from_a_position(store: AlertStore) -> None:
    first, second = threshold_alert("acme", 50), threshold_alert("acme", 80)
    store.record_alerts([first], T0)
    mark = store.last_seq()
    store.record_alerts([threshold_alert("globex")], T0)
    store.record_alerts([second], T0)

    assert [a.record.alert_id for a in store.list_alerts("acme")] == [second.alert_id, first.alert_id]
    assert [a.record.alert_id for a in store.alerts_after(mark, "acme")] == [second.alert_id]
    assert len(store.alerts_after(0)) == 3
    assert store.list_alerts("acme", limit=1)[0].record == second


def test_the_feed_lists_only_the_kinds_asked_for_before_it_cuts_at_the_limit(store: AlertStore) -> None:
    anomaly = anomaly_alert("acme", T0)
    store.record_alerts([anomaly, anomaly_alert("globex", T0)], T0)
    store.record_alerts([threshold_alert("acme", t) for t in (50, 80, 90)], T0)  # newer

    assert [a.record for a in store.list_alerts("acme", 1, ANOMALY_KINDS)] == [anomaly]
    assert len(store.list_alerts("acme", kinds=["budget.threshold"])) == 3
