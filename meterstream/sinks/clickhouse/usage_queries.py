"""Queries behind the HTTP API: a session's operations and summary, recent activity, and
usage reports over a time range. Each is data with `to_sql() -> (sql, params)`: values
travel only as ClickHouse placeholders, never in the SQL text, and every query is scoped
to one tenant. Every query reads `FINAL`, so a row stored twice is counted once.

Token measures match `SessionTotals`: each sums the stored column of its name (input,
output, cached, thinking and tool-use tokens apart), so live totals, stored totals and the
export's columns agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from clickhouse_connect.driver.client import Client

MEASURES = (
    ("operations", "count()"),
    ("cost", "sum(cost)"),
    ("unpriced_operations", "countIf(pricing_status = 'unpriced')"),
    # what the unpriced operations used, counted as SessionTotals counts it
    ("unpriced_tokens", "sumIf(input_tokens + output_tokens + thinking_tokens + tool_use_prompt_tokens,"
                        " pricing_status = 'unpriced')"),
    ("unpriced_images", "sumIf(images, pricing_status = 'unpriced')"),
    ("unpriced_video_seconds", "sumIf(video_seconds, pricing_status = 'unpriced')"),
    ("unpriced_characters", "sumIf(characters, pricing_status = 'unpriced')"),
    ("input_tokens", "sum(input_tokens)"),
    ("output_tokens", "sum(output_tokens)"),
    ("cached_input_tokens", "sum(cached_input_tokens)"),
    ("thinking_tokens", "sum(thinking_tokens)"),
    ("tool_use_prompt_tokens", "sum(tool_use_prompt_tokens)"),
    ("images", "sum(images)"),
    ("video_seconds", "sum(video_seconds)"),
    ("characters", "sum(characters)"),
)

OPERATION_COLUMNS = (
    "event_id", "occurred_at", "session_id", "user_id", "service", "operation", "provider", "model",
    "billing_unit", "billing_mode", "input_tokens", "output_tokens", "cached_input_tokens", "thinking_tokens",
    "audio_input_tokens", "tool_use_prompt_tokens", "images", "video_seconds", "video_with_audio", "resolution",
    "characters", "voice_tier", "cost", "cost_lines", "currency", "catalog_version", "pricing_status",
    "unpriced_reason", "attributes",
)

# What a report can group by, and the expression each name stands for.
Dimension = Literal["day", "hour", "service", "model", "user", "session", "attribute"]
DIMENSIONS: dict[str, str] = {
    "day": "toStartOfDay(occurred_at)",
    "hour": "toStartOfHour(occurred_at)",
    "service": "service",
    "model": "model",
    "user": "user_id",
    "session": "session_id",
    "attribute": "attributes[{attribute:String}]",
}


def utc(value: datetime) -> datetime:
    """`value` in UTC; a naive value is taken as UTC (as ClickHouse reads a zone-less parameter)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def ch_time(value: datetime) -> str:
    """A DateTime64(6, 'UTC') parameter value: UTC wall time, no zone suffix."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# Measures are named after the columns they add up (sum(images) AS images); this setting
# keeps a column inside any other expression the column, not the alias of its sum.
_COLUMNS_OVER_ALIASES = " SETTINGS prefer_column_name_to_alias = 1"


def _measures() -> str:
    return ", ".join(f"{expression} AS {name}" for name, expression in MEASURES)


@dataclass(frozen=True)
class _SessionQuery:
    """A query over one session of one tenant."""

    database: str
    tenant_id: str
    session_id: str

    def _sql(self, select: str, tail: str) -> tuple[str, dict[str, Any]]:
        sql = (
            f"SELECT {select} FROM {self.database}.usage_events FINAL"
            " WHERE session_id = {session_id:String} AND tenant_id = {tenant_id:String} " + tail
        )
        return sql, {"session_id": self.session_id, "tenant_id": self.tenant_id}


class SessionOperations(_SessionQuery):
    """Every operation of one session, oldest first, with its cost breakdown."""

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        return self._sql(", ".join(OPERATION_COLUMNS), "ORDER BY occurred_at, event_id")


class SessionServices(_SessionQuery):
    """One session's totals per service: operations, cost, quantities, models, first and last time."""

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        return self._sql(
            f"service, {_measures()}, arraySort(groupUniqArray(model)) AS models,"
            " min(occurred_at) AS first_event_at, max(occurred_at) AS last_event_at",
            "GROUP BY service ORDER BY service" + _COLUMNS_OVER_ALIASES,
        )


@dataclass(frozen=True)
class RecentActivity:
    """The tenant's latest operations (optionally of one session), newest first."""

    database: str
    tenant_id: str
    limit: int = 50
    session_id: str | None = None

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        where = ["tenant_id = {tenant_id:String}"]
        params: dict[str, Any] = {"tenant_id": self.tenant_id, "limit": self.limit}
        if self.session_id is not None:
            where.append("session_id = {session_id:String}")
            params["session_id"] = self.session_id
        sql = (
            f"SELECT {', '.join(OPERATION_COLUMNS)} FROM {self.database}.usage_events FINAL"
            f" WHERE {' AND '.join(sorted(where))}"
            " ORDER BY occurred_at DESC, event_id DESC LIMIT {limit:UInt32}"
        )
        return sql, params


@dataclass(frozen=True)
class UsageReport:
    """Cost and quantities of one tenant in [start, end), grouped by the chosen dimensions.

    Rows are always split by currency too, so no sum ever mixes two currencies.
    """

    database: str
    tenant_id: str
    start: datetime
    end: datetime
    group_by: tuple[str, ...] = ()
    attribute: str | None = None

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        unknown = [name for name in self.group_by if name not in DIMENSIONS]
        if unknown:
            raise ValueError(f"cannot group by {unknown}; choose from {tuple(DIMENSIONS)}")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError(f"group_by repeats a dimension: {self.group_by}")
        if ("attribute" in self.group_by) != (self.attribute is not None):
            raise ValueError("group by 'attribute' needs the attribute's name, and the name needs that grouping")
        params: dict[str, Any] = {
            "tenant_id": self.tenant_id, "start": ch_time(self.start), "end": ch_time(self.end),
        }
        if self.attribute is not None:
            params["attribute"] = self.attribute
        keys = [f"{DIMENSIONS[name]} AS {name}" for name in self.group_by] + ["currency"]
        names = [*self.group_by, "currency"]
        sql = (
            f"SELECT {', '.join(keys)}, {_measures()} FROM {self.database}.usage_events FINAL"
            " WHERE tenant_id = {tenant_id:String}"
            " AND occurred_at >= {start:DateTime64(6, 'UTC')} AND occurred_at < {end:DateTime64(6, 'UTC')}"
            f" GROUP BY {', '.join(names)} ORDER BY {', '.join(names)}" + _COLUMNS_OVER_ALIASES
        )
        return sql, params


def run_query(client: Client, query: Any) -> list[dict[str, Any]]:
    """Run a query built by one of the classes above; rows as {column: value}."""
    sql, params = query.to_sql()
    result = client.query(sql, parameters=params)
    names = result.column_names
    return [dict(zip(names, row)) for row in result.result_rows]
