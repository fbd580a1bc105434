"""Recent activity and usage reports (grouped, over a time range, against the previous period)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from meterstream.api.auth import CallerDep
from meterstream.api.errors import InvalidRequest
from meterstream.api.models import OperationOut, PeriodChange, ReportPeriod, ReportRow, UsageMeasures, UsageReportOut
from meterstream.api.routes.common import SessionIdQuery, csv_or_json, csv_text, operation, problems, utc
from meterstream.api.services import Services, ServicesDep
from meterstream.sinks.clickhouse.usage_queries import MEASURES, Dimension, RecentActivity, UsageReport

router = APIRouter(prefix="/v1", tags=["reports"])

MAX_RANGE = timedelta(days=366)
# Times ClickHouse's DateTime64 stores (with a year to spare for the previous period).
EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
DEFAULT_RANGE = timedelta(days=7)


def range_errors(start: datetime, end: datetime) -> list[dict[str, str]]:
    """What is wrong with a report's [start, end), naming the field (none: an empty list)."""
    if not (EARLIEST <= start and end <= LATEST):
        return [{"field": "start", "reason": f"the range must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"}]
    if start >= end:
        return [{"field": "start", "reason": "must be before end"}]
    if end - start > MAX_RANGE:
        return [{"field": "start", "reason": f"the range may span at most {MAX_RANGE.days} days"}]
    return []


@router.get("/activity", responses=problems(503))
async def activity(
    caller: CallerDep, services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    session_id: SessionIdQuery = None,
) -> list[OperationOut]:
    """The latest operations with their cost, newest first (optionally of one session)."""
    query = RecentActivity(services.warehouse.database, caller.tenant_id, limit=limit, session_id=session_id)
    return [operation(row) for row in await services.warehouse.rows(query)]


def _key_text(value: Any) -> str:
    return utc(value).isoformat() if isinstance(value, datetime) else str(value)


async def _period(services: Services, report: UsageReport) -> ReportPeriod:
    rows = await services.warehouse.rows(report)
    measure_names = [name for name, _ in MEASURES]
    out = [
        ReportRow(keys={name: _key_text(row[name]) for name in report.group_by}, currency=row["currency"],
                  **{name: row[name] for name in measure_names})
        for row in rows
    ]
    totals: dict[str, dict[str, Any]] = defaultdict(lambda: UsageMeasures().model_dump())
    for row in out:
        bucket = totals[row.currency]
        for name in measure_names:
            bucket[name] += getattr(row, name)
    return ReportPeriod(start=report.start, end=report.end, rows=out,
                        totals={currency: UsageMeasures(**values) for currency, values in totals.items()})


def _changes(current: ReportPeriod, previous: ReportPeriod) -> list[PeriodChange]:
    changes = []
    for currency in sorted(set(current.totals) | set(previous.totals)):
        now, before = current.totals.get(currency, UsageMeasures()), previous.totals.get(currency, UsageMeasures())
        ratio = None if before.cost == 0 else (now.cost / before.cost).quantize(Decimal("0.000001"), ROUND_HALF_EVEN)
        changes.append(PeriodChange(currency=currency, cost=now.cost - before.cost, cost_ratio=ratio,
                                    operations=now.operations - before.operations))
    return changes


def report_csv(report: UsageReportOut) -> str:
    """The current period's rows: one column per group key, the currency, then every measure
    (money and seconds as plain decimal text, exact)."""
    measures = [name for name, _ in MEASURES]
    rows = []
    for row in report.current.rows:
        data = row.model_dump(mode="json")
        rows.append([*(row.keys[name] for name in report.group_by), row.currency, *(data[name] for name in measures)])
    return csv_text([*report.group_by, "currency", *measures], rows)


@router.get("/reports/usage", responses={**problems(503), 200: {
    "description": "The report; with `format=csv`, the current period's rows as CSV.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UsageReportOut"}},
                "text/csv": {"schema": {"type": "string"}}},
}}, response_model=UsageReportOut)
async def usage_report(
    caller: CallerDep, services: ServicesDep,
    group_by: Annotated[list[Dimension], Query(max_length=4, description="Repeat to group by several.")] = ["service"],  # noqa: B006
    start: Annotated[AwareDatetime | None, Query(description="Inclusive; default `end` minus 7 days.")] = None,
    end: Annotated[AwareDatetime | None, Query(description="Exclusive; default now.")] = None,
    attribute: Annotated[str | None, Query(min_length=1, max_length=64,
                                           description="The attribute key to group by.")] = None,
    compare: Annotated[bool, Query(description="Also report the previous period of the same length.")] = True,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Cost and quantities grouped by day/hour, service, model, user, session or an attribute."""
    end = (end or datetime.now(UTC)).astimezone(UTC)
    start = (start or end - DEFAULT_RANGE).astimezone(UTC)
    errors = range_errors(start, end)
    if len(set(group_by)) != len(group_by):
        errors.append({"field": "group_by", "reason": "names a dimension twice"})
    if ("attribute" in group_by) != (attribute is not None):
        errors.append({"field": "attribute", "reason": "give it exactly when grouping by 'attribute'"})
    if errors:
        raise InvalidRequest(errors)
    report = UsageReport(services.warehouse.database, caller.tenant_id, start, end, tuple(group_by), attribute)
    current = await _period(services, report)
    previous = None
    if compare:
        span = end - start
        previous = await _period(services, UsageReport(
            services.warehouse.database, caller.tenant_id, start - span, start, tuple(group_by), attribute))
    out = UsageReportOut(
        group_by=list(group_by), attribute=attribute, current=current, previous=previous,
        change=_changes(current, previous) if previous is not None else [],
    )
    name = "usage-" + "-".join(group_by) + f"-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.csv"
    return csv_or_json(format, lambda: report_csv(out), name, out)
