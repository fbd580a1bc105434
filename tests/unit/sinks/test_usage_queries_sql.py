"""The API's ClickHouse queries as data: exact SQL, tenant always scoped, values only as placeholders."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from meterstream.sinks.clickhouse.usage_queries import (
    OPERATION_COLUMNS,
    RecentActivity,
    SessionOperations,
    SessionServices,
    UsageReport,
)

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 8, tzinfo=UTC)
MEASURES_SQL = (
    "count() AS operations, sum(cost) AS cost, countIf(pricing_status = 'unpriced') AS unpriced_operations, "
    "sumIf(input_tokens + output_tokens + thinking_tokens + tool_use_prompt_tokens, pricing_status = 'unpriced') "
    "AS unpriced_tokens, sumIf(images, pricing_status = 'unpriced') AS unpriced_images, "
    "sumIf(video_seconds, pricing_status = 'unpriced') AS unpriced_video_seconds, "
    "sumIf(characters, pricing_status = 'unpriced') AS unpriced_characters, "
    "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
    "sum(cached_input_tokens) AS cached_input_tokens, sum(thinking_tokens) AS thinking_tokens, "
    "sum(tool_use_prompt_tokens) AS tool_use_prompt_tokens, sum(images) AS images, "
    "sum(video_seconds) AS video_seconds, sum(characters) AS characters"
)


def test_a_session_export_reads_one_tenants_session_oldest_first():
    sql, params = SessionOperations("db", "acme", "s-1").to_sql()
    assert sql == (
        f"SELECT {', '.join(OPERATION_COLUMNS)} FROM db.usage_events FINAL "
        "WHERE session_id = {session_id:String} AND tenant_id = {tenant_id:String} ORDER BY occurred_at, event_id"
    )
    assert params == {"session_id": "s-1", "tenant_id": "acme"}


def test_a_session_summary_groups_by_service_with_models_and_time_span():
    sql, params = SessionServices("db", "acme", "s-1").to_sql()
    assert sql == (
        f"SELECT service, {MEASURES_SQL}, arraySort(groupUniqArray(model)) AS models, "
        "min(occurred_at) AS first_event_at, max(occurred_at) AS last_event_at FROM db.usage_events FINAL "
        "WHERE session_id = {session_id:String} AND tenant_id = {tenant_id:String} "
        "GROUP BY service ORDER BY service SETTINGS prefer_column_name_to_alias = 1"
    )
    assert params == {"session_id": "s-1", "tenant_id": "acme"}


@pytest.mark.parametrize(("session_id", "where", "params"), [
    (None, "tenant_id = {tenant_id:String}", {"tenant_id": "acme", "limit": 20}),
    ("s-1", "session_id = {session_id:String} AND tenant_id = {tenant_id:String}",
     {"tenant_id": "acme", "limit": 20, "session_id": "s-1"}),
])
def test_recent_activity_is_newest_first_and_limited_by_a_placeholder(session_id, where, params):
    sql, got = RecentActivity("db", "acme", limit=20, session_id=session_id).to_sql()
    assert sql == (
        f"SELECT {', '.join(OPERATION_COLUMNS)} FROM db.usage_events FINAL WHERE {where} "
        "ORDER BY occurred_at DESC, event_id DESC LIMIT {limit:UInt32}"
    )
    assert got == params


def test_a_usage_report_groups_by_the_chosen_dimensions_and_currency_over_a_utc_range():
    sql, params = UsageReport("db", "acme", START, END, ("day", "service", "user")).to_sql()
    assert sql == (
        "SELECT toStartOfDay(occurred_at) AS day, service AS service, user_id AS user, currency, "
        f"{MEASURES_SQL} FROM db.usage_events FINAL WHERE tenant_id = {{tenant_id:String}} "
        "AND occurred_at >= {start:DateTime64(6, 'UTC')} AND occurred_at < {end:DateTime64(6, 'UTC')} "
        "GROUP BY day, service, user, currency ORDER BY day, service, user, currency "
        "SETTINGS prefer_column_name_to_alias = 1"
    )
    assert params == {"tenant_id": "acme", "start": "2026-03-01 00:00:00.000000", "end": "2026-03-08 00:00:00.000000"}


def test_report_times_are_sent_as_utc_whatever_zone_they_came_in():
    riyadh = timezone(timedelta(hours=3))
    _, params = UsageReport("db", "acme", datetime(2026, 3, 1, 3, tzinfo=riyadh), END).to_sql()
    assert params["start"] == "2026-03-01 00:00:00.000000"


def test_an_attribute_name_travels_as_a_parameter_not_as_sql():
    sql, params = UsageReport("db", "acme", START, END, ("attribute",), attribute="x'] OR 1=1 --").to_sql()
    assert "attributes[{attribute:String}] AS attribute" in sql
    assert "OR 1=1" not in sql and params["attribute"] == "x'] OR 1=1 --"


@pytest.mark.parametrize(("group_by", "attribute", "message"), [
    (("cost; DROP TABLE x",), None, "cannot group by"),
    (("day", "day"), None, "repeats"),
    (("attribute",), None, "attribute"),
    (("service",), "campaign", "attribute"),
])
def test_impossible_reports_are_refused(group_by, attribute, message):
    with pytest.raises(ValueError, match=message):
        UsageReport("db", "acme", START, END, group_by, attribute).to_sql()
