"""Alerts and webhooks through the API: alert records produced to the stack's alerts topic with
a plain Producer reach the feed, the event stream and a real receiver (verified with the
`standardwebhooks` package); every route sees only the caller's tenant."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from meterstream.schemas.alerts import AlertRecord
from tests.alerting import Receiver, produce_alerts, threshold_alert
from tests.api.conftest import ApiStack, eventually, sse_events

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def produce(api_stack: ApiStack, *records: AlertRecord) -> None:
    produce_alerts(api_stack.settings.kafka_bootstrap, api_stack.settings.topic_alerts, list(records))


def register(client: httpx.Client, receiver: Receiver, path: str) -> dict:
    answer = client.post("/v1/webhooks", json={"url": receiver.url(path), "description": "ops channel"})
    assert answer.status_code == 201, answer.text
    created = answer.json()
    receiver.route(path, created["secret"])
    return created


def delivered(client: httpx.Client, webhook_id: str, count: int):
    def probe() -> list[dict] | None:
        deliveries = client.get(f"/v1/webhooks/{webhook_id}/deliveries").json()["deliveries"]
        return deliveries if len(deliveries) == count and all(d["status"] == "delivered" for d in deliveries) else None
    return probe


def test_a_webhook_shows_its_secret_once_and_is_listed_without_it(tenant) -> None:
    _, client = tenant
    created = client.post("/v1/webhooks", json={"url": "https://hooks.example.com/meter"}).json()
    assert created["secret"].startswith("whsec_")
    assert created["webhook_id"].startswith("wh_") and created["description"] == ""

    listed = client.get("/v1/webhooks").json()["webhooks"]
    assert listed == [{k: v for k, v in created.items() if k != "secret"}]


def test_a_deleted_webhook_is_no_longer_listed(tenant) -> None:
    _, client = tenant
    webhook_id = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}).json()["webhook_id"]
    assert client.delete(f"/v1/webhooks/{webhook_id}").status_code == 204
    assert client.get("/v1/webhooks").json() == {"webhooks": []}
    assert client.delete(f"/v1/webhooks/{webhook_id}").status_code == 204  # again: no change


@pytest.mark.parametrize("url", ["ftp://example.com/x", "example.com/hook", "http://", "javascript:alert(1)",
                                 "http://exa mple.com/", "http://example.com:99999/"])
def test_a_webhook_url_that_is_not_http_or_https_is_refused_naming_the_field(tenant, url: str) -> None:
    _, client = tenant
    answer = client.post("/v1/webhooks", json={"url": url})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["url"]


def test_an_alert_reaches_the_feed_and_a_verified_webhook_with_its_delivery_log(
        api_stack: ApiStack, tenant, receiver: Receiver) -> None:
    tenant_id, client = tenant
    webhook = register(client, receiver, f"/{tenant_id}")
    older, newer = threshold_alert(tenant_id, 50), threshold_alert(tenant_id, 80)
    produce(api_stack, older, newer)

    [first, second] = eventually(delivered(client, webhook["webhook_id"], 2), what="two delivered alerts")

    got = receiver.at(f"/{tenant_id}")
    assert sorted(r.webhook_id for r in got) == sorted([older.alert_id, newer.alert_id])
    assert all(r.payload is not None for r in got), "every request verifies with standardwebhooks"
    feed = client.get("/v1/alerts").json()["alerts"]
    assert [a["alert_id"] for a in feed] == [newer.alert_id, older.alert_id]
    assert feed[0]["budget"]["spent"] == "80.000123" and feed[0]["event"]["cost"] == "0.000123"
    assert client.get("/v1/alerts", params={"limit": 1}).json()["alerts"] == feed[:1]
    assert {first["alert_id"], second["alert_id"]} == {older.alert_id, newer.alert_id}
    assert first["attempts"] == 1 and first["last_status_code"] == 200 and first["delivered_at"]
    assert first["next_attempt_at"] is None
    [attempt] = first["tries"]
    assert attempt["status_code"] == 200 and attempt["error"] is None and attempt["duration_ms"] >= 0


def test_another_tenant_sees_none_of_the_webhooks_deliveries_or_alerts(
        api_stack: ApiStack, tenant, receiver: Receiver) -> None:
    tenant_a, client_a = tenant
    webhook = register(client_a, receiver, f"/{tenant_a}")
    produce(api_stack, threshold_alert(tenant_a))
    eventually(delivered(client_a, webhook["webhook_id"], 1), what="A's alert delivered")

    with api_stack.client(api_stack.new_tenant()[1]) as client_b:
        assert client_b.get("/v1/webhooks").json() == {"webhooks": []}
        assert client_b.get("/v1/alerts").json() == {"alerts": []}
        assert client_b.get(f"/v1/webhooks/{webhook['webhook_id']}/deliveries").status_code == 404
        deleting = client_b.delete(f"/v1/webhooks/{webhook['webhook_id']}")
        assert deleting.status_code == 404 and webhook["webhook_id"] in deleting.json()["detail"]
    assert [w["webhook_id"] for w in client_a.get("/v1/webhooks").json()["webhooks"]] == [webhook["webhook_id"]]


def test_the_alert_stream_pushes_each_new_alert_of_the_tenant_only(api_stack: ApiStack, tenant) -> None:
    tenant_id, client = tenant
    other, mine = threshold_alert(f"{tenant_id}-other"), threshold_alert(tenant_id, 90)
    with client.stream("GET", "/v1/alerts/events", timeout=60) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        sender = threading.Thread(target=produce, args=(api_stack, other, mine))
        sender.start()
        kind, data = next(sse_events(stream))
        sender.join()
    assert kind == "alert"
    assert AlertRecord.model_validate(data) == mine


def test_metrics_count_alerts_by_kind_and_webhook_tries_by_outcome(api_stack: ApiStack, tenant,
                                                                   receiver: Receiver) -> None:
    tenant_id, client = tenant
    webhook = register(client, receiver, f"/{tenant_id}")
    produce(api_stack, threshold_alert(tenant_id))
    eventually(delivered(client, webhook["webhook_id"], 1), what="the alert delivered")

    metrics = httpx.get(f"{api_stack.url}/metrics").text
    assert 'meterstream_alerts_received_total{kind="budget.threshold"}' in metrics
    assert 'meterstream_webhook_deliveries_total{outcome="delivered"}' in metrics
