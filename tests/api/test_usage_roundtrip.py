"""Usage recorded through the API reads back as the same exact totals from every endpoint.

Expected costs are written out here from the list prices (per 1M tokens: gemini-2.5-flash
input $0.30, cached input $0.03, output $2.50; imagen-4.0-generate $0.04 per image;
veo-3.0-fast-generate $0.15 per second with audio; Chirp 3 HD voices $30 per 1M characters),
independently of meterstream's pricing code.
"""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal

import httpx
import pytest

from tests.api.conftest import ApiStack, eventually

pytestmark = pytest.mark.integration

TEXT = {"service": "text", "model": "gemini-2.5-flash", "operation": "write_ad_copy",
        "usage": {"unit": "tokens", "input_tokens": 1000, "cached_input_tokens": 200, "output_tokens": 500}}
IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 3}}
VIDEO = {"service": "video", "model": "veo-3.0-fast-generate", "usage": {"unit": "video", "seconds": "8"}}
SPEECH = {"service": "speech", "model": "cloud-tts-chirp3-hd",
          "usage": {"unit": "characters", "characters": 1000, "voice_tier": "chirp3-hd"}}

COSTS = {
    "text": (800 * Decimal("0.30") + 200 * Decimal("0.03") + 500 * Decimal("2.50")) / 1_000_000,
    "image": 3 * Decimal("0.04"),
    "video": 8 * Decimal("0.15"),
    "speech": 1000 * Decimal(30) / 1_000_000,
}
TOTAL = sum(COSTS.values(), Decimal(0))  # 1.351496


@pytest.fixture(scope="module")
def recorded(api_stack: ApiStack) -> tuple[httpx.Client, str, list[str]]:
    """A session of one tenant with four operations: one sent alone, three in a batch, all stored."""
    _, key = api_stack.new_tenant()
    client = api_stack.client(key)
    session_id = client.post("/v1/sessions", json={"user_id": "amira", "labels": {"campaign": "spring"}}).json()["session_id"]
    event_ids = [str(uuid.uuid4()) for _ in range(4)]
    events = [{**body, "event_id": eid, "session_id": session_id, "user_id": "amira", "attributes": {"campaign": "spring"}}
              for body, eid in zip((TEXT, IMAGE, VIDEO, SPEECH), event_ids)]
    assert client.post("/v1/usage", json=events[0]).status_code == 202
    batch = client.post("/v1/usage/batch", json={"events": events[1:]})
    assert batch.json()["accepted"] == 3
    eventually(lambda: client.get(f"/v1/sessions/{session_id}/summary").json()["operations"] == 4,
               what="the four operations in ClickHouse")
    yield client, session_id, event_ids
    client.close()


def test_stats_show_the_exact_live_totals(recorded) -> None:
    client, session_id, _ = recorded
    stats = eventually(lambda: (s := client.get(f"/v1/sessions/{session_id}/stats").json())["operations"] == 4 and s)
    assert Decimal(stats["total_cost"]) == TOTAL
    assert stats["total_cost"] == "1.351496"
    assert (stats["input_tokens"], stats["output_tokens"], stats["cached_input_tokens"]) == (1000, 500, 200)
    assert (stats["images"], Decimal(stats["video_seconds"]), stats["characters"]) == (3, Decimal(8), 1000)
    assert {name: Decimal(s["cost"]) for name, s in stats["by_service"].items()} == COSTS
    assert stats["by_service"]["image"] == {"operations": 1, "cost": "0.12", "unpriced_operations": 0,
                                           "unpriced_tokens": 0, "unpriced_images": 0,
                                           "unpriced_video_seconds": "0", "unpriced_characters": 0,
                                           "models": ["imagen-4.0-generate"]}


def test_summary_reports_the_same_cost_services_and_models(recorded) -> None:
    client, session_id, _ = recorded
    summary = client.get(f"/v1/sessions/{session_id}/summary").json()
    assert summary["total_cost"] == "1.351496"
    assert summary["operations"] == 4
    assert summary["status"] == "active"
    assert summary["started_at"] is not None and summary["ended_at"] is None
    assert {s["service"]: Decimal(s["cost"]) for s in summary["services"]} == COSTS
    assert summary["models"] == sorted(["gemini-2.5-flash", "imagen-4.0-generate", "veo-3.0-fast-generate",
                                        "cloud-tts-chirp3-hd"])


def test_json_export_lists_every_operation_with_its_cost_breakdown(recorded) -> None:
    client, session_id, event_ids = recorded
    export = client.get(f"/v1/sessions/{session_id}/export", params={"format": "json"}).json()
    assert export["total_cost"] == "1.351496"
    assert sorted(op["event_id"] for op in export["operations"]) == sorted(event_ids)
    text = next(op for op in export["operations"] if op["service"] == "text")
    assert text["cost_lines"] == {"input": "0.00024", "cached_input": "0.000006", "output": "0.00125"}
    assert sum(Decimal(op["cost"]) for op in export["operations"]) == TOTAL


def test_csv_export_has_plain_decimal_money_that_adds_up(recorded) -> None:
    client, session_id, _ = recorded
    response = client.get(f"/v1/sessions/{session_id}/export", params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 4
    assert sum(Decimal(row["cost"]) for row in rows) == TOTAL
    assert {row["service"]: row["cost"] for row in rows} == {
        "text": "0.001496", "image": "0.12", "video": "1.2", "speech": "0.03"}
    assert all("E" not in row["cost"] for row in rows)


def test_usage_report_totals_match_grouped_by_service_and_attribute(recorded) -> None:
    client, _, _ = recorded
    by_service = client.get("/v1/reports/usage", params={"group_by": ["service"]}).json()
    assert {r["keys"]["service"]: Decimal(r["cost"]) for r in by_service["current"]["rows"]} == COSTS
    assert Decimal(by_service["current"]["totals"]["USD"]["cost"]) == TOTAL
    assert by_service["previous"]["rows"] == []
    assert by_service["change"] == [{"currency": "USD", "cost": "1.351496", "cost_ratio": None, "operations": 4}]
    by_campaign = client.get("/v1/reports/usage", params={"group_by": ["attribute", "day"], "attribute": "campaign"}).json()
    [row] = by_campaign["current"]["rows"]
    assert row["keys"]["attribute"] == "spring" and Decimal(row["cost"]) == TOTAL and row["operations"] == 4


def test_activity_lists_recent_operations_with_their_cost(recorded) -> None:
    client, session_id, _ = recorded
    activity = client.get("/v1/activity", params={"limit": 10}).json()
    assert len(activity) == 4
    assert {op["service"]: op["cost"] for op in activity} == {
        "text": "0.001496", "image": "0.12", "video": "1.2", "speech": "0.03"}
    assert [op["occurred_at"] for op in activity] == sorted((op["occurred_at"] for op in activity), reverse=True)


TOKEN_COUNTS = ("input_tokens", "output_tokens", "cached_input_tokens", "thinking_tokens", "tool_use_prompt_tokens")


def test_each_token_count_means_the_same_in_stats_export_and_reports(api_stack: ApiStack) -> None:
    """Thinking and tool-use tokens are counted apart everywhere: stats and reports are the
    sums of the export's columns of the same name, not output plus thinking in one place."""
    _, key = api_stack.new_tenant()
    thinking = {"service": "text", "model": "gemini-2.5-pro",
                "usage": {"unit": "tokens", "input_tokens": 1000, "cached_input_tokens": 100, "output_tokens": 300,
                          "thinking_tokens": 700, "tool_use_prompt_tokens": 50}}
    plain = {**TEXT}
    with api_stack.client(key) as client:
        session_id = client.post("/v1/sessions", json={}).json()["session_id"]
        for body in (thinking, plain):
            assert client.post("/v1/usage", json={**body, "session_id": session_id}).status_code == 202
        stats = eventually(lambda: (s := client.get(f"/v1/sessions/{session_id}/stats").json())["operations"] == 2 and s)
        export = eventually(lambda: len((e := client.get(f"/v1/sessions/{session_id}/export").json())["operations"]) == 2
                            and e, what="both operations stored")
        rows = list(csv.DictReader(io.StringIO(
            client.get(f"/v1/sessions/{session_id}/export", params={"format": "csv"}).text)))
        [report] = client.get("/v1/reports/usage", params={"group_by": ["session"]}).json()["current"]["rows"]
    want = {"input_tokens": 2000, "output_tokens": 800, "cached_input_tokens": 300, "thinking_tokens": 700,
            "tool_use_prompt_tokens": 50}
    assert {name: stats[name] for name in TOKEN_COUNTS} == want
    assert {name: sum(op[name] for op in export["operations"]) for name in TOKEN_COUNTS} == want
    assert {name: sum(int(row[name]) for row in rows) for name in TOKEN_COUNTS} == want
    assert {name: report[name] for name in TOKEN_COUNTS} == want


def test_a_report_downloads_as_csv_with_exact_money(recorded) -> None:
    client, _, _ = recorded
    response = client.get("/v1/reports/usage", params={"group_by": ["service", "model"], "format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["service"]: row["cost"] for row in rows} == {
        "text": "0.001496", "image": "0.12", "video": "1.2", "speech": "0.03"}
    assert sum(Decimal(row["cost"]) for row in rows) == TOTAL
    assert {row["model"] for row in rows} >= {"gemini-2.5-flash", "imagen-4.0-generate"}
    assert all(row["currency"] == "USD" and row["unpriced_operations"] == "0" for row in rows)


def test_unpriced_usage_is_counted_apart_in_stats_and_summary_never_as_cost(api_stack: ApiStack) -> None:
    _, key = api_stack.new_tenant()
    unknown = {"service": "text", "model": "gemini-9-ultra", "usage": {"unit": "tokens", "input_tokens": 10}}
    with api_stack.client(key) as client:
        session_id = client.post("/v1/sessions", json={}).json()["session_id"]
        for body in (unknown, TEXT):
            assert client.post("/v1/usage", json={**body, "session_id": session_id}).status_code == 202
        stats = eventually(lambda: (s := client.get(f"/v1/sessions/{session_id}/stats").json())["operations"] == 2 and s)
        summary = eventually(lambda: (s := client.get(f"/v1/sessions/{session_id}/summary").json())["operations"] == 2
                             and s, what="both operations stored")
        [row] = client.get("/v1/reports/usage", params={"group_by": "service", "compare": "false"}).json()["current"]["rows"]
    assert stats["unpriced_operations"] == 1 and Decimal(stats["total_cost"]) == COSTS["text"]
    assert stats["by_service"]["text"]["unpriced_operations"] == 1
    # what the unpriced operation used, live and stored
    assert stats["unpriced_tokens"] == stats["by_service"]["text"]["unpriced_tokens"] == 10
    assert (row["unpriced_operations"], row["unpriced_tokens"], row["unpriced_images"]) == (1, 10, 0)
    assert stats["by_service"]["text"]["operations"] == 2
    [text] = summary["services"]
    assert (text["operations"], text["unpriced_operations"]) == (2, 1) and summary["unpriced_operations"] == 1
