"""Insights through the API on the real stack: usage recorded with POST /v1/usage, read back as
savings, tops, distributions, a comparison and a forecast; a spend anomaly detected in the
stream reaches GET /v1/insights/anomalies. Every endpoint sees only the caller's tenant."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.alerting import Receiver
from tests.api.conftest import ApiStack, eventually
from tests.api.test_statements import record

pytestmark = pytest.mark.integration

D = Decimal
JUNE = {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}
VEO = {"service": "video", "model": "veo-3.0-generate", "usage": {"unit": "video", "seconds": "8"}}
IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 1}}
ENDPOINTS = ("recommendations", "top", "distributions", "comparison")


def get(client: httpx.Client, path: str, **params) -> dict:
    answer = client.get(f"/v1/insights/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def two_tenants(api_stack: ApiStack):
    clients = []
    for _ in range(2):
        _, key = api_stack.new_tenant()
        clients.append(api_stack.client(key))
    yield clients
    for client in clients:
        client.close()


def test_a_veo_3_saving_equals_the_hand_computed_difference_and_another_tenants_usage_is_not_in_it(
        api_stack, two_tenants) -> None:
    mine, theirs = two_tenants
    record(api_stack, mine, {**VEO, "occurred_at": "2026-06-10T10:00:00Z"},
           {**VEO, "occurred_at": "2026-06-11T10:00:00Z"})
    record(api_stack, theirs, *[{**VEO, "occurred_at": "2026-06-12T10:00:00Z"}] * 3)
    body = get(mine, "recommendations", **JUNE)
    veo = next(r for r in body["recommendations"] if r["rule_id"] == "veo-3-to-veo-3-fast")
    # 16 s with audio at 0.40/s against 0.15/s on Veo 3 Fast
    assert (veo["cost"], veo["would_cost"], veo["saving"], veo["operations"]) == ("6.4", "2.4", "4", 2)
    assert (body["total_cost"], body["operations"], body["unpriced_operations"]) == ("6.4", 2, 0)
    assert get(theirs, "recommendations", **JUNE)["operations"] == 3


def test_usage_in_the_named_non_interactive_hours_is_offered_batch_mode(api_stack, tenant) -> None:
    _, client = tenant
    flash = {"service": "text", "model": "gemini-2.5-flash",
             "usage": {"unit": "tokens", "input_tokens": 1_234, "output_tokens": 567}}
    record(api_stack, client, {**flash, "occurred_at": "2026-06-10T03:00:00Z"},
           {**flash, "occurred_at": "2026-06-10T13:00:00Z"})
    assert "batch-mode-for-non-interactive" not in str(get(client, "recommendations", **JUNE))
    body = get(client, "recommendations", **JUNE, non_interactive_hours="0-6")
    batch = next(r for r in body["recommendations"] if r["rule_id"] == "batch-mode-for-non-interactive")
    # the 03:00 call only: (1,234 × 0.30 + 567 × 2.50) / 1M at half price
    assert (batch["operations"], batch["saving"]) == (1, "0.00089385")


def test_every_insights_endpoint_answers_for_the_callers_tenant_only(api_stack, two_tenants) -> None:
    mine, theirs = two_tenants
    record(api_stack, theirs, {**IMAGE, "occurred_at": "2026-06-03T09:00:00Z", "user_id": "zed"})
    for path in ENDPOINTS:
        body = get(mine, path, **JUNE)
        assert body.get("recommendations", body.get("rows", body.get("distributions", body.get("changes")))) == [], path
        assert "zed" not in str(body)
    assert get(mine, "forecast", at="2026-06-20T00:00:00Z")["spent"] == "0"
    assert get(theirs, "forecast", at="2026-06-20T00:00:00Z")["spent"] == "0.04"
    assert get(theirs, "top", by="user", **JUNE)["rows"][0]["key"] == {"user_id": "zed"}
    assert get(mine, "anomalies")["anomalies"] == []


def test_tops_distributions_and_the_comparison_show_the_period(api_stack, tenant) -> None:
    _, client = tenant
    record(api_stack, client, {**IMAGE, "occurred_at": "2026-06-03T09:00:00Z", "user_id": "ana"},
           {**VEO, "occurred_at": "2026-06-04T09:00:00Z", "user_id": "ana"},
           {**IMAGE, "occurred_at": "2026-05-20T09:00:00Z", "user_id": "ben"},
           {"service": "text", "model": "gemini-9-imaginary", "occurred_at": "2026-06-05T09:00:00Z",
            "usage": {"unit": "tokens", "input_tokens": 5, "output_tokens": 5}})
    events = get(client, "top", by="event", **JUNE)["rows"]
    assert [(row["model"], row["cost"]) for row in events] == [("veo-3.0-generate", "3.2"),
                                                               ("imagen-4.0-generate", "0.04"),
                                                               ("gemini-9-imaginary", None)]  # unpriced, not 0
    found = {d["by"]: d for d in get(client, "distributions", **JUNE)["distributions"]}
    # ana's 3.24; the unpriced call (no user, a session of its own) is counted apart, never as $0
    assert (found["user"]["units"], found["user"]["max"], found["user"]["unpriced_only"]) == (1, "3.24", 1)
    assert (found["session"]["units"], found["session"]["p99"], found["session"]["unpriced_only"]) == (2, "3.2", 1)
    changes = get(client, "comparison", start="2026-05-16T00:00:00Z", end="2026-06-16T00:00:00Z")["changes"]
    assert [(c["model"], c["current"], c["previous"]) for c in changes][:1] == [("veo-3.0-generate", "3.2", "0")]

    # the same rows as CSV files: money exact, an unpriced row's cost empty (never 0)
    answer = client.get("/v1/insights/top", params={"by": "event", "format": "csv", **JUNE})
    assert answer.headers["content-type"].startswith("text/csv") and "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["model"], r["cost"], r["unpriced_operations"]) for r in rows] == [
        ("veo-3.0-generate", "3.2", "0"), ("imagen-4.0-generate", "0.04", "0"), ("gemini-9-imaginary", "", "1")]
    assert list(rows[0])[:3] == ["event_id", "session_id", "user_id"]
    users = client.get("/v1/insights/top", params={"by": "user", "format": "csv", **JUNE}).text
    assert users.splitlines()[0] == "user_id,operations,cost,unpriced_operations,currency,first_at,last_at"
    spread = {r["by"]: r for r in csv.DictReader(io.StringIO(
        client.get("/v1/insights/distributions", params={"format": "csv", **JUNE}).text))}
    assert (spread["user"]["max"], spread["user"]["unpriced_only"], spread["session"]["p99"]) == ("3.24", "1", "3.2")


def test_the_forecast_adds_the_rest_of_the_month_at_the_median_day(api_stack, tenant) -> None:
    _, client = tenant
    record(api_stack, client, *[{**IMAGE, "occurred_at": f"2026-06-0{day}T09:00:00Z"} for day in (1, 2, 3)])
    body = get(client, "forecast", at="2026-06-04T00:00:00Z")
    # three days at 0.04; 27 days left at the median day 0.04
    assert (body["spent"], body["forecast"], body["low"], body["high"]) == ("0.12", "1.2", "1.2", "1.2")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def test_a_spend_anomaly_detected_in_the_stream_reaches_the_feed_a_verified_webhook_and_the_metrics(
        api_stack, two_tenants, receiver) -> None:
    mine, theirs = two_tenants
    path = f"/anomaly-{uuid.uuid4().hex[:6]}"
    created = theirs.post("/v1/webhooks", json={"url": receiver.url(path)})
    assert created.status_code == 201, created.text
    receiver.route(path, created.json()["secret"])
    session = f"s-{uuid.uuid4().hex[:6]}"  # one session: the two events reach the ledger in order
    for event in ({**IMAGE, "occurred_at": "2026-06-20T10:10:00Z"}, {**VEO, "occurred_at": "2026-06-20T11:10:00Z"}):
        before = api_stack.pipeline.sink.runner.counts.stored
        assert theirs.post("/v1/usage", json={"session_id": session, **event}).status_code in (200, 201, 202)
        api_stack.wait_stored(before + 1)
    found = eventually(lambda: get(theirs, "anomalies")["anomalies"], timeout=60, what="the anomaly alert")
    (alert,) = found
    assert (alert["kind"], alert["anomaly"]["window_start"], alert["anomaly"]["drivers"][0]["model"]) == (
        "anomaly.spend", "2026-06-20T11:00:00Z", "veo-3.0-generate")
    assert get(mine, "anomalies")["anomalies"] == []
    (sent,) = eventually(lambda: receiver.at(path), timeout=60, what="the webhook delivery")
    assert sent.webhook_id == alert["alert_id"] and sent.payload is not None  # verified with standardwebhooks
    assert sent.payload["type"] == "anomaly.spend"
    assert 'meterstream_alerts_received_total{kind="anomaly.spend"}' in httpx.get(f"{api_stack.url}/metrics").text


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "2026-07-01T00:00:00Z", "end": "2026-06-01T00:00:00Z"}, "start"),
    ({"attribute": "team"}, "value"),
    ({"start": "2026-06-01"}, "start"),
    ({"non_interactive_hours": "6-6"}, "non_interactive_hours"),
    ({"non_interactive_hours": "0-25"}, "non_interactive_hours"),
    ({"non_interactive_hours": "night"}, "non_interactive_hours"),
])
def test_bad_input_gets_a_422_naming_the_field(tenant, params, field) -> None:
    _, client = tenant
    answer = client.get("/v1/insights/recommendations", params=params)
    assert answer.status_code == 422
    assert field in [error["field"].removeprefix("query.") for error in answer.json()["errors"]]
