"""The ClickHouse side of statements: each query is data with `to_sql() -> (sql, params)`,
values only as placeholders, like sinks/clickhouse/usage_queries.py. Running them is book.py's.

Usage is always read with FINAL (a row stored twice before ReplacingMergeTree merged it counts
once); the month is selected by the partition key's own expression, toYYYYMM(occurred_at),
so a query reads one partition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _db(database: str) -> str:
    if not _IDENTIFIER.match(database):
        raise ValueError(f"not a database name: {database!r}")
    return database


# Quantity of an unpriced event in its billing unit, counted as SessionTotals counts tokens.
_UNIT_QUANTITY = (
    "multiIf(billing_unit = 'tokens', toDecimal128(input_tokens + tool_use_prompt_tokens + output_tokens"
    " + thinking_tokens, 12), billing_unit = 'images', toDecimal128(images, 12),"
    " billing_unit = 'video', toDecimal128(video_seconds, 12), toDecimal128(characters, 12))"
)


@dataclass(frozen=True)
class StatementUsage:
    """A tenant's month, per statement value, line key and pricing status (lines.UsageRow).

    Each event's cost lines are unfolded with LEFT ARRAY JOIN, so a line sums exactly the
    amounts the engine billed on it; `idx <= 1` picks each event once (its first line, or the
    row of an event without lines) for the event counts.
    """

    database: str
    tenant_id: str
    yyyymm: int
    attribute: str | None = None

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {"tenant_id": self.tenant_id, "month": self.yyyymm}
        value = "''"
        if self.attribute is not None:
            value, params["attribute"] = "attributes[{attribute:String}]", self.attribute
        sql = (
            f"SELECT {value} AS value, service, model, billing_unit, pricing_status = 'unpriced' AS unpriced,"
            " component, line_unit_prices[component] AS unit_price, currency,"
            " countIf(idx <= 1) AS events, countIf(idx >= 1) AS line_events,"
            " sum(line_quantities[component]) AS quantity, sum(cost_lines[component]) AS amount,"
            f" sum(if(idx <= 1, {_UNIT_QUANTITY}, toDecimal128(0, 12))) AS unit_quantity,"
            " arraySort(groupUniqArray(catalog_version)) AS catalog_versions,"
            " arraySort(groupUniqArray(tenant_pricing)) AS tenant_pricing"
            f" FROM {_db(self.database)}.usage_events FINAL"
            " LEFT ARRAY JOIN mapKeys(cost_lines) AS component, arrayEnumerate(mapKeys(cost_lines)) AS idx"
            " WHERE tenant_id = {tenant_id:String} AND toYYYYMM(occurred_at) = {month:UInt32}"
            " GROUP BY value, service, model, billing_unit, unpriced, component, unit_price, currency"
            " ORDER BY value, service, model, billing_unit, unpriced, component, unit_price, currency"
        )
        return sql, params


@dataclass(frozen=True)
class LastStored:
    """Per month, the latest `stored_at` of a tenant's rows (every stored row, merged or not:
    a merge keeps the newest copy, so this never goes back)."""

    database: str
    tenant_id: str
    yyyymms: tuple[int, ...]

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        return (
            "SELECT toYYYYMM(occurred_at) AS month, max(stored_at) AS last_stored"
            f" FROM {_db(self.database)}.usage_events"
            " WHERE tenant_id = {tenant_id:String} AND toYYYYMM(occurred_at) IN {months:Array(UInt32)}"
            " GROUP BY month ORDER BY month",
            {"tenant_id": self.tenant_id, "months": list(self.yyyymms)},
        )


@dataclass(frozen=True)
class Closes:
    """The closed months of a close unit (tenant, attribute), with their close instants."""

    database: str
    tenant_id: str
    attribute: str

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        return (
            f"SELECT month, closed_at FROM {_db(self.database)}.statement_closes FINAL"
            " WHERE attribute = {attribute:String} AND tenant_id = {tenant_id:String} ORDER BY month",
            {"tenant_id": self.tenant_id, "attribute": self.attribute},
        )


@dataclass(frozen=True)
class ClosedStatements:
    """The frozen statements of a close unit from month `since` on (optionally one month, one
    value): only rows written by the close that its marker names."""

    database: str
    tenant_id: str
    attribute: str
    since: str = ""
    month: str | None = None
    value: str | None = None

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        db = _db(self.database)
        params: dict[str, Any] = {"tenant_id": self.tenant_id, "attribute": self.attribute, "since": self.since}
        where = ["s.attribute = {attribute:String}", "s.month >= {since:String}", "s.tenant_id = {tenant_id:String}"]
        for name, wanted in (("month", self.month), ("value", self.value)):
            if wanted is not None:
                where.append(f"s.{name} = {{{name}:String}}")
                params[name] = wanted
        sql = (
            f"SELECT s.month AS month, s.value AS value, s.content AS content FROM {db}.statements AS s FINAL"
            f" INNER JOIN (SELECT month, closed_at FROM {db}.statement_closes FINAL"
            " WHERE attribute = {attribute:String} AND tenant_id = {tenant_id:String}) AS c"
            " ON s.month = c.month AND s.closed_at = c.closed_at"
            f" WHERE {' AND '.join(sorted(where))} ORDER BY s.month, s.value"
        )
        return sql, params


@dataclass(frozen=True)
class TenantFirstMonths:
    """Each tenant's first month with stored usage (toYYYYMM): from then on its months close."""

    database: str

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        return (
            "SELECT tenant_id, min(toYYYYMM(occurred_at)) AS first_month"
            f" FROM {_db(self.database)}.usage_events GROUP BY tenant_id ORDER BY tenant_id",
            {},
        )


@dataclass(frozen=True)
class ClosedUnits:
    """Which (tenant, attribute, month) units of these months have closed."""

    database: str
    months: tuple[str, ...]

    def to_sql(self) -> tuple[str, dict[str, Any]]:
        return (
            f"SELECT tenant_id, attribute, month FROM {_db(self.database)}.statement_closes FINAL"
            " WHERE month IN {months:Array(String)} ORDER BY tenant_id, attribute, month",
            {"months": list(self.months)},
        )


def now_sql() -> str:
    """The close instant, from the server's clock: the same clock that stamps `stored_at`."""
    return "SELECT now64(6, 'UTC')"


STATEMENT_COLUMNS = ("tenant_id", "attribute", "month", "value", "closed_at", "statement_id", "content",
                     "content_hash")
CLOSE_COLUMNS = ("tenant_id", "attribute", "month", "closed_at", "statements")
