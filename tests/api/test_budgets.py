"""Budgets and reservations through the API, on the real broker, worker and ClickHouse engine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import orjson
import pytest
from confluent_kafka import Consumer

from tests.api.conftest import OPEN_RESERVATIONS_LIMIT, ApiStack, eventually

pytestmark = pytest.mark.integration

# 1,000,000 input tokens of gemini-2.5-flash at list price: exactly 0.30 USD (catalog).
MILLION_FLASH_TOKENS = {"service": "text", "model": "gemini-2.5-flash",
                        "usage": {"unit": "tokens", "input_tokens": 1_000_000}}
FLASH_MILLION_COST = Decimal("0.30")


def create(client: httpx.Client, **fields) -> dict:
    body = {"name": "monthly", "limit": "10", **fields}
    response = client.post("/v1/budgets", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def record(client: httpx.Client, session_id: str, **fields) -> None:
    response = client.post("/v1/usage", json={"session_id": session_id, **MILLION_FLASH_TOKENS, **fields})
    assert response.status_code == 202, response.text


def budget(client: httpx.Client, budget_id: str) -> dict:
    response = client.get(f"/v1/budgets/{budget_id}")
    assert response.status_code == 200, response.text
    return response.json()


def spent_becomes(client: httpx.Client, budget_id: str, amount: str) -> dict:
    return eventually(lambda: (b := budget(client, budget_id))["status"]["spent"] == amount and b,
                      timeout=20, what=f"spent {amount}")


def test_a_new_budget_shows_its_limit_and_nothing_spent(tenant):
    _, client = tenant
    created = create(client, limit="12.50", period="day")
    status = budget(client, created["budget_id"])["status"]
    assert (created["limit"], created["thresholds"], created["action"]) == ("12.5", ["50", "80", "100"], "notify")
    assert (status["spent"], status["reserved"], status["remaining"]) == ("0", "0", "12.5")
    assert status["period_end"] is not None and status["thresholds_crossed"] == []


def test_usage_counts_against_the_budget_and_crosses_thresholds(tenant):
    _, client = tenant
    created = create(client, limit="0.60")
    record(client, "s-1")
    shown = spent_becomes(client, created["budget_id"], "0.3")
    assert shown["status"]["thresholds_crossed"] == ["50"]
    assert shown["status"]["remaining"] == "0.3"


@pytest.mark.parametrize(("body", "field"), [
    ({"limit": "0"}, "limit"),
    ({"limit": "-5"}, "limit"),
    ({"scope": {"kind": "planet", "value": "mars"}}, "scope.kind"),
    ({"thresholds": ["0"]}, "thresholds.0"),
    ({"thresholds": ["1000.5"]}, "thresholds.0"),
    ({"currency": "EUR"}, "currency"),
    ({"scope": {"kind": "user"}}, "scope"),
])
def test_invalid_budgets_are_refused_naming_the_field(tenant, body, field):
    _, client = tenant
    response = client.post("/v1/budgets", json={"name": "x", "limit": "10", **body})
    assert response.status_code == 422, response.text
    assert field in [error["field"] for error in response.json()["errors"]]


def test_a_budget_can_be_changed_and_deleted(tenant):
    _, client = tenant
    created = create(client, limit="10")
    changed = client.patch(f"/v1/budgets/{created['budget_id']}", json={"limit": "20", "action": "block"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["limit"], changed.json()["action"], changed.json()["revision"]) == ("20", "block", 2)
    assert client.delete(f"/v1/budgets/{created['budget_id']}").status_code == 204
    assert client.get(f"/v1/budgets/{created['budget_id']}").status_code == 404
    assert client.get("/v1/budgets").json()["budgets"] == []


def test_another_tenant_never_sees_or_changes_a_budget_or_reservation(api_stack: ApiStack, tenant):
    _, client = tenant
    created = create(client, limit="10", action="block")
    held = client.post("/v1/reservations", json={**MILLION_FLASH_TOKENS, "session_id": "s-own"}).json()
    _, other_key = api_stack.new_tenant()
    with api_stack.client(other_key) as other:
        assert other.get(f"/v1/budgets/{created['budget_id']}").status_code == 404
        assert other.patch(f"/v1/budgets/{created['budget_id']}", json={"limit": "1"}).status_code == 404
        assert other.delete(f"/v1/budgets/{created['budget_id']}").status_code == 404
        assert other.post(f"/v1/reservations/{held['reservation_id']}/release").status_code == 404
        assert other.get("/v1/budgets").json()["budgets"] == []
    assert budget(client, created["budget_id"])["status"]["reserved"] == "0.3"


def test_a_blocking_budget_refuses_a_reservation_it_has_no_room_for(tenant):
    _, client = tenant
    created = create(client, name="tight", limit="0.50", action="block")
    first = client.post("/v1/reservations", json={**MILLION_FLASH_TOKENS, "session_id": "s-r"})
    second = client.post("/v1/reservations", json={**MILLION_FLASH_TOKENS, "session_id": "s-r"})
    assert first.status_code == 201, first.text
    assert (first.json()["amount"], first.json()["budgets"]) == ("0.3", [created["budget_id"]])
    assert second.status_code == 402, second.text
    refusal = second.json()
    assert refusal["refused_by"][0]["budget_id"] == created["budget_id"]
    assert refusal["refused_by"][0]["remaining"] == "0.2"
    assert "tight" in refusal["detail"]


def test_a_tenant_with_too_many_open_reservations_gets_409_until_it_releases_one(tenant):
    _, client = tenant
    held = [client.post("/v1/reservations", json={**MILLION_FLASH_TOKENS, "session_id": "s-many"})
            for _ in range(OPEN_RESERVATIONS_LIMIT)]
    assert {answer.status_code for answer in held} == {201}
    crowded = client.post("/v1/reservations", json={**MILLION_FLASH_TOKENS, "session_id": "s-many"})
    assert crowded.status_code == 409, crowded.text
    assert f"{OPEN_RESERVATIONS_LIMIT} open reservations" in crowded.json()["detail"]
    assert client.post(f"/v1/reservations/{held[0].json()['reservation_id']}/release").status_code == 204
    assert client.post("/v1/reservations", json={**MILLION_FLASH_TOKENS, "session_id": "s-many"}).status_code == 201


def test_the_usage_that_follows_settles_its_reservation_at_the_actual_cost(tenant):
    _, client = tenant
    created = create(client, limit="1", action="block")
    held = client.post("/v1/reservations", json={**MILLION_FLASH_TOKENS, "session_id": "s-settle"}).json()
    assert budget(client, created["budget_id"])["status"]["reserved"] == "0.3"
    half = {"service": "text", "model": "gemini-2.5-flash", "usage": {"unit": "tokens", "input_tokens": 500_000}}
    response = client.post("/v1/usage", json={"session_id": "s-settle", "reservation_id": held["reservation_id"], **half})
    assert response.status_code == 202
    shown = spent_becomes(client, created["budget_id"], "0.15")
    assert (shown["status"]["reserved"], shown["status"]["remaining"]) == ("0", "0.85")
    assert client.get("/v1/budgets").json()["reservations"]["settled"] == 1


def test_an_unsettled_reservation_expires_and_releases_its_hold(tenant):
    _, client = tenant
    created = create(client, limit="1", action="block")
    held = client.post("/v1/reservations", json={**MILLION_FLASH_TOKENS, "session_id": "s-x", "ttl_seconds": 1})
    assert held.status_code == 201
    eventually(lambda: budget(client, created["budget_id"])["status"]["reserved"] == "0", timeout=15,
               what="the hold to expire")
    assert client.get("/v1/budgets").json()["reservations"]["expired"] == 1


def test_usage_naming_an_unknown_reservation_is_metered_and_counted_as_a_mismatch(tenant):
    _, client = tenant
    created = create(client, limit="10")
    record(client, "s-u", reservation_id="not-one-of-ours")
    spent_becomes(client, created["budget_id"], "0.3")
    assert client.get("/v1/budgets").json()["reservations"]["unknown_settlements"] == 1


def test_a_late_event_counts_in_its_own_days_budget(tenant):
    _, client = tenant
    created = create(client, limit="10", period="day")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    record(client, "s-late", occurred_at=yesterday)
    record(client, "s-late")
    spent_becomes(client, created["budget_id"], "0.3")  # today's: only the on-time event


def test_a_session_shows_the_budgets_that_count_it(tenant):
    _, client = tenant
    client.post("/v1/sessions/s-mine", json={})
    started = client.post("/v1/sessions", json={"user_id": "amira"}).json()
    mine = create(client, name="amira's", scope={"kind": "user", "value": "amira"})
    create(client, name="omar's", scope={"kind": "user", "value": "omar"})
    everyone = create(client, name="all")
    shown = client.get(f"/v1/sessions/{started['session_id']}/budgets").json()["budgets"]
    assert sorted(b["budget_id"] for b in shown) == sorted([mine["budget_id"], everyone["budget_id"]])


def test_each_threshold_raises_one_alert_on_the_alerts_topic(api_stack: ApiStack, tenant):
    tenant_id, client = tenant
    create(client, limit="0.90")
    for n in range(3):
        record(client, f"s-alert-{n}")
    consumer = Consumer({"bootstrap.servers": api_stack.settings.kafka_bootstrap,
                         "group.id": f"test-{uuid.uuid4().hex}", "auto.offset.reset": "earliest"})
    consumer.subscribe([api_stack.settings.topic_alerts])
    seen: dict[str, dict] = {}

    def three_alerts() -> bool:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None and message.key() == tenant_id.encode():
            alert = orjson.loads(message.value())
            seen[alert["alert_id"]] = alert
        return len(seen) >= 3

    eventually(three_alerts, timeout=30, what="three alerts")
    consumer.close()
    thresholds = sorted(Decimal(a["budget"]["threshold"]) for a in seen.values() if a["kind"] == "budget.threshold")
    assert thresholds == [50, 80, 100]
