"""Server-sent totals, estimates, the price catalog, health and metrics."""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal

import pytest

from tests.api.conftest import DISCOUNTED_TENANT, REJECTING_TENANT, ApiStack, eventually, sse_events

pytestmark = pytest.mark.integration

IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 1}}


def test_the_event_stream_pushes_new_totals_on_every_change(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    session_id = client.post("/v1/sessions", json={}).json()["session_id"]
    with client.stream("GET", f"/v1/sessions/{session_id}/events", timeout=60) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = sse_events(stream)
        (kind, session), (_, initial) = next(events), next(events)
        assert kind == "session" and session["session_id"] == session_id
        assert initial["operations"] == 0
        sender = threading.Thread(target=lambda: [
            client.post("/v1/usage", json={**IMAGE, "session_id": session_id}) for _ in range(2)])
        sender.start()
        seen = [initial]
        while seen[-1]["operations"] < 2:
            kind, totals = next(events)
            assert kind == "totals"
            seen.append(totals)
        sender.join()
    assert seen[-1]["total_cost"] == "0.08"
    assert [t["operations"] for t in seen] == sorted({t["operations"] for t in seen})  # each push is a change


def test_the_event_stream_pushes_the_session_again_once_it_is_ended(tenant) -> None:
    _, client = tenant
    session_id = client.post("/v1/sessions", json={}).json()["session_id"]
    with client.stream("GET", f"/v1/sessions/{session_id}/events", timeout=60) as stream:
        events = sse_events(stream)
        kind, session = next(events)
        assert (kind, session["status"]) == ("session", "active")
        assert next(events)[0] == "totals"
        ended_at = time.monotonic()
        assert client.post(f"/v1/sessions/{session_id}/end").status_code == 200
        kind, session = next(events)
        pushed_after = time.monotonic() - ended_at
    assert (kind, session["status"]) == ("session", "ended") and session["ended_at"] is not None
    assert pushed_after < 1.0, f"the end was pushed after {pushed_after:.2f} s"


def test_an_estimate_prices_a_planned_operation_without_recording_it(tenant) -> None:
    _, client = tenant
    estimate = client.post("/v1/estimate", json={
        "service": "video", "model": "veo-3.0-generate", "usage": {"unit": "video", "seconds": "6", "with_audio": False},
    }).json()
    assert (estimate["status"], estimate["total_cost"], estimate["currency"]) == ("priced", "1.2", "USD")
    assert estimate["lines"] == [{"component": "second", "quantity": "6", "unit": "second", "unit_price": "0.2",
                                  "cost": "1.2"}]
    assert client.get("/v1/activity").json() == []


def test_an_estimate_for_an_unknown_model_says_it_is_unpriced(tenant) -> None:
    _, client = tenant
    estimate = client.post("/v1/estimate", json={
        "service": "text", "model": "gemini-9-ultra", "usage": {"unit": "tokens", "input_tokens": 10}}).json()
    assert estimate["status"] == "unpriced" and estimate["total_cost"] is None  # unknown, not $0
    assert estimate["lines"] == [] and "gemini-9-ultra" in estimate["reason"]


# 10,000 input and 2,000 output tokens of gemini-2.5-flash, at its list prices of $0.30 and
# $2.50 per million tokens (the catalog entry in force since 2025-06-17).
FLASH = {"service": "text", "model": "gemini-2.5-flash", "occurred_at": "2026-01-15T12:00:00Z",
         "usage": {"unit": "tokens", "input_tokens": 10_000, "output_tokens": 2_000}}
FLASH_LIST_PRICES = {"input": Decimal("0.30") / 1_000_000, "output": Decimal("2.50") / 1_000_000}
FLASH_AT_LIST_PRICE = 10_000 * FLASH_LIST_PRICES["input"] + 2_000 * FLASH_LIST_PRICES["output"]  # 0.008


def test_an_estimate_for_a_tenant_without_its_own_pricing_is_at_list_price(tenant) -> None:
    _, client = tenant
    estimate = client.post("/v1/estimate", json=FLASH).json()
    assert estimate["status"] == "priced" and Decimal(estimate["total_cost"]) == FLASH_AT_LIST_PRICE
    assert {line["component"]: Decimal(line["unit_price"]) for line in estimate["lines"]} == FLASH_LIST_PRICES


def test_an_estimate_applies_the_tenants_discount_as_the_stream_bills_it(api_stack: ApiStack) -> None:
    with api_stack.client(api_stack.new_key(DISCOUNTED_TENANT)) as client:
        estimate = client.post("/v1/estimate", json=FLASH).json()
        discounted = FLASH_AT_LIST_PRICE * Decimal("0.9")  # 10% off: 0.0072
        assert estimate["status"] == "priced" and Decimal(estimate["total_cost"]) == discounted
        assert {line["component"]: Decimal(line["unit_price"]) for line in estimate["lines"]} == {
            component: price * Decimal("0.9") for component, price in FLASH_LIST_PRICES.items()}
        session_id = f"quote-{uuid.uuid4().hex[:8]}"
        assert client.post("/v1/usage", json={**FLASH, "session_id": session_id}).status_code == 202
        [recorded] = eventually(lambda: client.get("/v1/activity", params={"session_id": session_id}).json(),
                                what="the recorded operation")
    assert Decimal(recorded["cost"]) == discounted


def test_an_estimate_of_an_unknown_model_a_tenant_rejects_names_the_model_field(api_stack: ApiStack) -> None:
    with api_stack.client(api_stack.new_key(REJECTING_TENANT)) as client:
        answer = client.post("/v1/estimate", json={**FLASH, "model": "gemini-9-ultra"})
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "model" and "gemini-9-ultra" in error["reason"] and "rejects" in error["reason"]


VIDEO_8K = {"service": "video", "model": "veo-3.1-generate", "usage": {"unit": "video", "seconds": "8", "resolution": "8k"}}


def test_an_estimate_at_a_resolution_the_catalog_does_not_price_is_unpriced_not_the_base_rate(tenant) -> None:
    _, client = tenant
    estimate = client.post("/v1/estimate", json=VIDEO_8K).json()
    assert (estimate["status"], estimate["total_cost"], estimate["lines"]) == ("unpriced", None, [])
    assert "lists no price for video at 8k" in estimate["reason"]


def test_a_tenant_that_rejects_unpriceable_usage_is_answered_422_naming_the_field(api_stack: ApiStack) -> None:
    with api_stack.client(api_stack.new_key(REJECTING_TENANT)) as client:
        estimate = client.post("/v1/estimate", json=VIDEO_8K)
        recorded = client.post("/v1/usage", json={**VIDEO_8K, "session_id": f"r-{uuid.uuid4().hex[:8]}"})
        unknown = client.post("/v1/usage", json={**FLASH, "model": "gemini-9-ultra",
                                                 "session_id": f"r-{uuid.uuid4().hex[:8]}"})
        batch = client.post("/v1/usage/batch", json={"events": [
            {**VIDEO_8K, "session_id": "r-batch"}, {**VIDEO_8K, "session_id": "r-batch", "usage": {
                **VIDEO_8K["usage"], "resolution": "1080p"}}]}).json()
    for answer in (estimate, recorded):
        assert answer.status_code == 422
        [error] = answer.json()["errors"]
        assert error["field"] == "usage.resolution" and "8k" in error["reason"]
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "model"  # as the stream would
    assert [item["status"] for item in batch["items"]] == ["rejected", "accepted"]
    assert batch["items"][0]["errors"][0]["field"] == "usage.resolution"


def test_usage_in_a_unit_that_does_not_fit_the_service_is_refused_naming_the_service(tenant) -> None:
    _, client = tenant
    for path, body in (("/v1/usage", {"session_id": "misfit"}), ("/v1/estimate", {})):
        answer = client.post(path, json={**body, "service": "video", "model": "gemini-2.5-flash",
                                         "usage": {"unit": "tokens", "input_tokens": 10}})
        assert answer.status_code == 422, path
        [error] = answer.json()["errors"]
        assert error["field"] == "service" and "does not fit service 'video'" in error["reason"]


def test_the_price_list_gives_unit_price_source_and_effective_date(tenant) -> None:
    _, client = tenant
    pricing = client.get("/v1/pricing").json()
    imagen = next(p for p in pricing["prices"] if p["model"] == "imagen-4.0-generate" and p["in_force"])
    assert imagen["billing_unit"] == "images" and imagen["prices"] == {"image": "0.04"} and imagen["per"] == 1
    assert imagen["source"].startswith("https://") and imagen["effective_from"] == "2025-08-14"
    assert all(Decimal(price) >= 0 for p in pricing["prices"] for price in p["prices"].values())


def test_the_price_list_shows_every_rule_the_pricer_applies(tenant) -> None:
    _, client = tenant
    prices = {p["model"]: p for p in client.get("/v1/pricing").json()["prices"] if p["in_force"]}
    pro = prices["gemini-2.5-pro"]
    assert pro["long_context"]["above_tokens"] == 200_000
    assert pro["long_context"]["prices"]["input"] == "2.5"
    assert (pro["batch_factor"], pro["free_tier"]) == ("0.5", True)
    assert any("second@4k" in p["prices"] for p in prices.values())  # per-resolution video prices
    assert prices["cloud-tts-chirp3-hd"]["voice_tier"] == "chirp3-hd"
    assert prices["imagen-4.0-generate"]["voice_tier"] is None and prices["imagen-4.0-generate"]["long_context"] is None


def test_health_and_prometheus_metrics_need_no_key(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    client.post("/v1/usage", json={**IMAGE, "session_id": f"m-{uuid.uuid4().hex[:6]}"})
    with api_stack.client(None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        metrics = anonymous.get("/metrics")
    assert metrics.status_code == 200
    assert 'meterstream_api_usage_events_total{outcome="accepted"}' in metrics.text
    assert 'route="/v1/usage"' in metrics.text
