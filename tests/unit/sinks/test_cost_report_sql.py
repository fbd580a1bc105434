import pytest

from meterstream.sinks.clickhouse import CostReport


def test_a_session_report_is_parameterized_and_reads_final():
    sql, params = CostReport("db", group_by=("service", "model"), session_id="s-1").to_sql()
    assert sql == (
        "SELECT service, model, count() AS operations, sum(cost) AS cost, "
        "countIf(pricing_status = 'unpriced') AS unpriced, sum(input_tokens) AS input_tokens, "
        "sum(output_tokens) AS output_tokens, sum(cached_input_tokens) AS cached_input_tokens, "
        "sum(thinking_tokens) AS thinking_tokens, sum(tool_use_prompt_tokens) AS tool_use_prompt_tokens, "
        "sum(images) AS images, "
        "sum(video_seconds) AS video_seconds, sum(characters) AS characters FROM db.usage_events FINAL "
        "WHERE session_id = {session_id:String} GROUP BY service, model ORDER BY cost DESC, service, model"
    )
    assert params == {"session_id": "s-1"}


def test_filters_are_sorted_so_the_sql_is_deterministic():
    sql, params = CostReport("db", group_by=("model",), tenant_id="t", session_id="s").to_sql()
    assert "WHERE session_id = {session_id:String} AND tenant_id = {tenant_id:String}" in sql
    assert params == {"session_id": "s", "tenant_id": "t"}


def test_grouping_by_an_unknown_column_is_refused():
    with pytest.raises(ValueError, match="cannot group by"):
        CostReport("db", group_by=("cost; DROP TABLE x",)).to_sql()
