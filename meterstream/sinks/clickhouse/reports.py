"""Report queries over usage_events. Built as data (SQL + parameters), run separately.

Every query reads `FINAL`, so a row stored twice before ReplacingMergeTree merged it
is still counted once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client

# Counted as SessionTotals counts them: each column of the event summed apart.
QUANTITIES = (
    "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
    "sum(cached_input_tokens) AS cached_input_tokens, sum(thinking_tokens) AS thinking_tokens, "
    "sum(tool_use_prompt_tokens) AS tool_use_prompt_tokens, "
    "sum(images) AS images, sum(video_seconds) AS video_seconds, sum(characters) AS characters"
)
GROUPABLE = ("tenant_id", "session_id", "user_id", "service", "model", "operation", "pricing_status")


@dataclass(frozen=True)
class CostReport:
    database: str
    group_by: tuple[str, ...] = ("session_id", "service", "model")
    tenant_id: str | None = None
    session_id: str | None = None

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        unknown = [column for column in self.group_by if column not in GROUPABLE]
        if unknown:
            raise ValueError(f"cannot group by {unknown}; choose from {GROUPABLE}")
        where, params = [], {}
        for name in ("session_id", "tenant_id"):
            value = getattr(self, name)
            if value is not None:
                where.append(f"{name} = {{{name}:String}}")
                params[name] = value
        keys = ", ".join(self.group_by)
        sql = (
            f"SELECT {keys}, count() AS operations, sum(cost) AS cost, "
            f"countIf(pricing_status = 'unpriced') AS unpriced, {QUANTITIES} "
            f"FROM {self.database}.usage_events FINAL"
            + (f" WHERE {' AND '.join(sorted(where))}" if where else "")
            + f" GROUP BY {keys} ORDER BY cost DESC, {keys}"
        )
        return sql, params


@dataclass(frozen=True)
class ReportResult:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)


def run_report(client: Client, report: CostReport) -> ReportResult:
    sql, params = report.to_sql()
    result = client.query(sql, parameters=params)
    return ReportResult(tuple(result.column_names), [tuple(row) for row in result.result_rows])
