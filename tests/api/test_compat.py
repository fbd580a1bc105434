"""The original tracker's way in: its `record_usage` call and its four routes under /compat, with
exactly the shapes its front end reads (UsageStats, SessionSummary)."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from meterstream.compat import UsageTracker
from meterstream.producers import UsageEmitter
from tests.api.conftest import ApiStack, eventually

pytestmark = pytest.mark.integration

CALLS = [
    {"model_name": "gemini-2.5-flash", "service_type": "text", "operation_type": "ad_copy",
     "input_tokens": 1200, "output_tokens": 300},
    {"model_name": "imagen-4.0-generate", "service_type": "image", "operation_type": "generate",
     "number_of_images": 2},
    {"model_name": "veo-3.0-generate", "service_type": "video", "operation_type": "storyboard_to_video",
     "duration_seconds": 8},
]
USAGE_STATS_KEYS = ["session_active", "session_id", "total_cost", "total_operations", "services_breakdown"]
SUMMARY_KEYS = ["session_id", "start_time", "end_time", "total_operations", "total_cost_usd", "services_used",
                "models_used"]
NUMBER = re.compile(r'"(total_cost|cost|total_cost_usd)": (-?[0-9]+(\.[0-9]+)?)[,}]')


def _exact(response) -> dict:
    """The body with every JSON number as the exact Decimal it spells."""
    return json.loads(response.text, parse_float=Decimal, parse_int=int)


def test_recorded_usage_reads_back_as_the_old_usage_stats(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    for call in CALLS:
        answer = client.post("/compat/record-usage", json={"session_id": "legacy-1", **call})
        assert answer.status_code == 200, answer.text
        assert set(answer.json()) == {"success", "session_id", "event_id"} and answer.json()["success"] is True
    eventually(lambda: client.get("/v1/sessions/legacy-1/stats").json()["operations"] == 3, what="live totals")
    ours = client.get("/v1/sessions/legacy-1/stats").json()

    stats = client.get("/compat/session-stats/legacy-1")
    assert stats.status_code == 200
    body = _exact(stats)
    assert list(body) == USAGE_STATS_KEYS
    assert body["session_active"] is True and body["session_id"] == "legacy-1" and body["total_operations"] == 3
    assert body["total_cost"] == Decimal(ours["total_cost"])  # a JSON number, to the last digit
    assert list(body["services_breakdown"]) == ["image", "text", "video"]
    for service, part in body["services_breakdown"].items():
        assert list(part) == ["operations", "cost", "models"]
        assert part["operations"] == ours["by_service"][service]["operations"] == 1
        assert part["cost"] == Decimal(ours["by_service"][service]["cost"])
        assert part["models"] == ours["by_service"][service]["models"]
    assert body["services_breakdown"]["image"]["cost"] == Decimal("0.08")
    # the numbers are written as numbers, never as strings or through a float
    assert {m.group(1) for m in NUMBER.finditer(stats.text)} == {"total_cost", "cost"}


def test_an_ended_session_is_not_active_and_the_export_has_the_old_summary(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    session_id = client.post("/v1/sessions", json={}).json()["session_id"]
    for call in CALLS[:2]:
        assert client.post("/compat/record-usage", json={"session_id": session_id, **call}).status_code == 200
    eventually(lambda: client.get(f"/v1/sessions/{session_id}/summary").json()["operations"] == 2,
               what="the events in ClickHouse")
    ended = client.post(f"/v1/sessions/{session_id}/end").json()
    assert _exact(client.get(f"/compat/session-stats/{session_id}"))["session_active"] is False

    export = client.get(f"/compat/export-session/{session_id}")
    assert export.status_code == 200
    body = _exact(export)
    assert list(body) == ["session_id", "session_summary", "operations"]
    summary = body["session_summary"]
    assert list(summary) == SUMMARY_KEYS
    ours = client.get(f"/v1/sessions/{session_id}/summary").json()
    assert summary["session_id"] == session_id
    assert summary["start_time"] == ours["started_at"].replace("Z", "+00:00")
    assert summary["end_time"] == ended["ended_at"].replace("Z", "+00:00")
    assert summary["total_operations"] == 2
    assert summary["total_cost_usd"] == Decimal(ours["total_cost"])
    assert summary["services_used"] == ["image", "text"]
    assert summary["models_used"] == ["gemini-2.5-flash", "imagen-4.0-generate"]
    assert [o["operation_type"] for o in body["operations"]] == ["ad_copy", "generate"]
    assert all(isinstance(o["cost"], str) for o in body["operations"])  # not an old field: a decimal string
    assert sum(Decimal(o["cost"]) for o in body["operations"]) == summary["total_cost_usd"]


def test_estimate_cost_prices_the_planned_usage(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    answer = client.post("/compat/estimate-cost", json={"model_name": "imagen-4.0-generate", "number_of_images": 3})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["model_name"], body["service_type"], body["billing_type"]) == ("imagen-4.0-generate", "image", "images")
    assert body["estimated_cost"] == "0.12" and body["currency"] == "USD"
    ours = client.post("/v1/estimate", json={"service": "video", "model": "veo-3.0-generate",
                                             "usage": {"unit": "video", "seconds": 8}}).json()
    video = client.post("/compat/estimate-cost", json={"model_name": "veo-3.0-generate", "duration_seconds": 8}).json()
    assert video["estimated_cost"] == ours["total_cost"]
    refused = client.post("/compat/estimate-cost", json={"number_of_images": 1})
    assert refused.status_code == 422 and refused.json()["errors"] == [{"field": "model_name", "reason": "required"}]


def test_the_compat_routes_are_authenticated_and_tenant_scoped(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    assert client.post("/compat/record-usage", json={"session_id": "legacy-mine", **CALLS[1]}).status_code == 200
    eventually(lambda: client.get("/v1/sessions/legacy-mine/stats").json()["operations"] == 1, what="totals")
    with api_stack.client(None) as anonymous:
        for method, path in (("POST", "/compat/record-usage"), ("GET", "/compat/session-stats/legacy-mine"),
                             ("POST", "/compat/estimate-cost"), ("GET", "/compat/export-session/legacy-mine")):
            assert anonymous.request(method, path, json={}).status_code == 401, path
    _, other_key = api_stack.new_tenant()
    with api_stack.client(other_key) as other:
        assert other.get("/compat/session-stats/legacy-mine").status_code == 404
        assert other.get("/compat/export-session/legacy-mine").status_code == 404
    bad = client.post("/compat/record-usage", json={"session_id": "legacy-mine", "model_name": "m",
                                                    "service_type": "text"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "usage"


OLD_APP = """
import sys

from meterstream.compat import usage_tracker  # the module-level tracker, configured by METERSTREAM_*

session_id = sys.argv[1]
usage_tracker.record_usage(session_id=session_id, model_name="imagen-4.0-generate-001", service_type="image",
                           operation_type="generate", number_of_images=2)
usage_tracker.record_usage(session_id=session_id, model_name="gemini-2.5-flash", service_type="text",
                           operation_type="ad_copy", input_tokens=1200, output_tokens=300)
# and the app ends, as the old in-process tracker's apps did: no flush, no close
"""


def test_an_old_app_s_module_level_usage_tracker_is_configured_by_the_environment_and_keeps_every_call(
        api_stack: ApiStack, tmp_path) -> None:
    import os
    import subprocess
    import sys

    from meterstream.settings import settings_env

    tenant_id, key = api_stack.new_tenant()
    env = {**os.environ, **settings_env(api_stack.settings), "METERSTREAM_COMPAT_TENANT_ID": tenant_id,
           "METERSTREAM_DATA_DIR": str(tmp_path / "app")}
    app = subprocess.run([sys.executable, "-c", OLD_APP, "old-app-session"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert app.returncode == 0, app.stderr
    with api_stack.client(key) as client:  # the tenant METERSTREAM_COMPAT_TENANT_ID names
        def stats_of_both_calls():
            answer = client.get("/compat/session-stats/old-app-session")  # 404 until the first one is metered
            return answer.status_code == 200 and (s := _exact(answer))["total_operations"] == 2 and s

        stats = eventually(stats_of_both_calls, timeout=60, what="the old app's two calls in the live totals")
    assert list(stats) == USAGE_STATS_KEYS
    # 2 Imagen 4 images at 0.04; Flash 1,200 in at 0.30 and 300 out at 2.50 per 1M tokens
    assert stats["services_breakdown"] == {
        "image": {"operations": 1, "cost": Decimal("0.08"), "models": ["imagen-4.0-generate-001"]},
        "text": {"operations": 1, "cost": Decimal("0.00111"), "models": ["gemini-2.5-flash"]}}
    assert stats["total_cost"] == Decimal("0.08111")


def test_the_record_usage_facade_sends_through_the_emitter(api_stack: ApiStack) -> None:
    tenant_id, key = api_stack.new_tenant()
    with UsageEmitter(api_stack.settings) as emitter:
        tracker = UsageTracker(emitter, tenant_id=tenant_id)
        event = tracker.record_usage(session_id="legacy-app", model_name="imagen-4.0-generate", service_type="image",
                                     operation_type="generate", number_of_images=2)
        tracker.record_usage(session_id="legacy-app", model_name="gemini-2.5-flash", service_type="text",
                             operation_type="script", input_tokens=100, output_tokens=50)
    assert event.tenant_id == tenant_id and event.operation == "generate" and event.usage.unit == "images"
    with api_stack.client(key) as client:
        stats = eventually(lambda: (s := _exact(client.get("/compat/session-stats/legacy-app")))["total_operations"]
                           == 2 and s, what="the facade's events in the live totals")
    assert list(stats) == USAGE_STATS_KEYS
    assert stats["services_breakdown"]["image"] == {"operations": 1, "cost": Decimal("0.08"),
                                                    "models": ["imagen-4.0-generate"]}
