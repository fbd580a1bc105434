"""Cost insights of the caller's tenant: savings, anomalies, tops, distributions, comparison, forecast.

Thin: the queries and rules are in meterstream/insights; these routes check the input, run
them off the event loop and shape the answers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime
from starlette.concurrency import run_in_threadpool

from meterstream.api.auth import CallerDep
from meterstream.api.errors import InvalidRequest, UpstreamUnavailable
from meterstream.api.insight_models import (
    AnomaliesOut,
    ChangeOut,
    ComparisonOut,
    DistributionOut,
    DistributionsOut,
    ForecastOut,
    RecommendationOut,
    RecommendationsOut,
    TopOut,
    TopRow,
)
from meterstream.api.routes.common import SessionIdQuery, blocking, csv_or_json, csv_text, problems, utc
from meterstream.api.routes.reports import EARLIEST, LATEST, range_errors
from meterstream.api.services import Services, ServicesDep
from meterstream.insights import forecast as forecast_rule
from meterstream.insights import service
from meterstream.insights.queries import Scope
from meterstream.insights.recommendations import parse_hours
from meterstream.schemas.alerts import ANOMALY_KINDS

router = APIRouter(prefix="/v1/insights", tags=["insights"])

DEFAULT_RANGE = timedelta(days=30)
Start = Annotated[AwareDatetime | None, Query(description="Inclusive; default `end` minus 30 days.")]
End = Annotated[AwareDatetime | None, Query(description="Exclusive; default now.")]
UserQuery = Annotated[str | None, Query(min_length=1, max_length=128)]
AttributeQuery = Annotated[str | None, Query(min_length=1, max_length=64, description="An attribute key; with `value`.")]
ValueQuery = Annotated[str | None, Query(min_length=1, max_length=256)]
HoursQuery = Annotated[str | None, Query(max_length=128, description=(
    "UTC hours whose usage counts as non-interactive for batch mode, as tagged usage does: `A-B[,C-D]`, "
    "from hour A up to, not including, B; `22-6` wraps past midnight. E.g. `0-6`."))]

Format = Annotated[Literal["json", "csv"], Query(description="`csv`: the rows as a CSV file, money exact.")]


def _csv_answer(description: str, schema: str) -> dict[int | str, dict]:
    return {**problems(503), 200: {
        "description": f"{description}; with `format=csv`, its rows as CSV.",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}},
                    "text/csv": {"schema": {"type": "string"}}},
    }}


def _scope(tenant_id: str, start: datetime | None, end: datetime | None, user_id: str | None = None,
           session_id: str | None = None, attribute: str | None = None, value: str | None = None) -> Scope:
    end = (end or datetime.now(UTC)).astimezone(UTC)
    start = (start or end - DEFAULT_RANGE).astimezone(UTC)
    errors = range_errors(start, end)
    if (attribute is None) != (value is None):
        errors.append({"field": "value" if value is None else "attribute", "reason": "give attribute and value together"})
    if errors:
        raise InvalidRequest(errors)
    return Scope(tenant_id, start, end, user_id, session_id, attribute, value)


async def _run(function, *args):
    try:
        return await run_in_threadpool(function, *args)
    except InvalidRequest:
        raise
    except Exception as error:  # noqa: BLE001 - any driver failure is "ClickHouse did not answer"
        raise UpstreamUnavailable(f"insights query failed: {error}") from error


def _rows(services: Services) -> service.Rows:
    return service.client_rows(services.warehouse.client)


@router.get("/recommendations", responses=problems(503))
async def recommendations(caller: CallerDep, services: ServicesDep, start: Start = None, end: End = None,
                          user_id: UserQuery = None, session_id: SessionIdQuery = None,
                          attribute: AttributeQuery = None, value: ValueQuery = None,
                          non_interactive_hours: HoursQuery = None) -> RecommendationsOut:
    """Where the same usage would have cost less: cheaper models of the family, batch mode (for usage
    tagged non-interactive, or in `non_interactive_hours`), context caching, video without audio or at
    1080p, cheaper voice tiers. Largest saving first."""
    hours: tuple[int, ...] = ()
    if non_interactive_hours is not None:
        try:
            hours = parse_hours(non_interactive_hours)
        except ValueError as error:
            raise InvalidRequest([{"field": "non_interactive_hours", "reason": str(error)}]) from None
    scope = _scope(caller.tenant_id, start, end, user_id, session_id, attribute, value)
    found = await _run(service.recommendations, _rows(services), services.warehouse.database,
                       services.pricing.pricer, scope, hours)
    out = [RecommendationOut(**{**r.__dict__, "kind": r.kind.value}) for r in found.recommendations]
    return RecommendationsOut(start=scope.start, end=scope.end, total_cost=found.total_cost,
                              operations=found.operations, unpriced_operations=found.unpriced_operations,
                              inexact_groups=found.inexact_groups, recommendations=out,
                              saving=sum((r.saving for r in found.recommendations), Decimal(0)))


@router.get("/anomalies", responses=problems())
async def anomalies(caller: CallerDep, services: ServicesDep,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> AnomaliesOut:
    """The tenant's spend-anomaly alerts, newest first (detected in the stream; see docs/insights.md)."""
    stored = await blocking(services.alerts.list_alerts, caller.tenant_id, limit, ANOMALY_KINDS)
    return AnomaliesOut(anomalies=[a.record for a in stored])


@router.get("/top", responses=_csv_answer("The rows, costliest first", "TopOut"), response_model=TopOut)
async def top(caller: CallerDep, services: ServicesDep,
              by: Annotated[Literal["event", "session", "user", "operation"], Query(
                  description="`event`: single operations; `operation`: by service and operation name.")] = "session",
              limit: Annotated[int, Query(ge=1, le=100)] = 10, start: Start = None, end: End = None,
              format: Format = "json") -> Response:
    """The costliest operations, sessions, users or operation names of the period."""
    scope = _scope(caller.tenant_id, start, end)
    rows = await _run(service.top, _rows(services), services.warehouse.database, scope, by, limit)
    out = []
    for row in rows:
        if by == "event":
            unpriced = row["pricing_status"] == "unpriced"
            out.append(TopRow(key={"event_id": str(row["event_id"]), "session_id": row["session_id"],
                                   "user_id": row["user_id"], "operation": row["operation"]},
                              operations=1, cost=None if unpriced else row["cost"], unpriced_operations=int(unpriced),
                              currency=row["currency"], first_at=utc(row["occurred_at"]),
                              last_at=utc(row["occurred_at"]), model=row["model"], service=row["service"]))
            continue
        names = {"session": ("session_id",), "user": ("user_id",), "operation": ("service", "operation")}[by]
        out.append(TopRow(key={name: row[name] for name in names}, operations=row["operations"],
                          cost=None if row["unpriced"] == row["operations"] else row["cost"],
                          unpriced_operations=row["unpriced"], currency=row["currency"],
                          first_at=utc(row["first_at"]), last_at=utc(row["last_at"])))
    found = TopOut(by=by, start=scope.start, end=scope.end, rows=out)
    return csv_or_json(format, lambda: top_csv(found), f"top-{by}-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.csv", found)


def top_csv(found: TopOut) -> str:
    """One line per row: its key's fields, then the figures (an unpriced row's cost empty, never 0)."""
    keys = list(dict.fromkeys(name for row in found.rows for name in row.key)) or [found.by]
    figures = ["operations", "cost", "unpriced_operations", "currency", "first_at", "last_at"]
    extra = ["model", "service"] if found.by == "event" else []
    rows = []
    for row in found.rows:
        data = row.model_dump(mode="json")
        rows.append([*(row.key.get(name) for name in keys), *(data[name] for name in figures + extra)])
    return csv_text([*keys, *figures, *extra], rows)


@router.get("/distributions", responses=_csv_answer("The distributions", "DistributionsOut"),
            response_model=DistributionsOut)
async def distributions(caller: CallerDep, services: ServicesDep, start: Start = None,
                        end: End = None, format: Format = "json") -> Response:
    """Cost per session and per user: p50, p90, p99 (exact), max and total."""
    scope = _scope(caller.tenant_id, start, end)
    found = await _run(service.distributions, _rows(services), services.warehouse.database, scope)
    out = DistributionsOut(start=scope.start, end=scope.end,
                           distributions=[DistributionOut(**d.__dict__) for d in found])
    columns = list(DistributionOut.model_fields)
    return csv_or_json(format, lambda: csv_text(columns, ([d.model_dump(mode="json")[name] for name in columns]
                                                          for d in out.distributions)),
                       f"distributions-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.csv", out)


@router.get("/comparison", responses=problems(503))
async def comparison(caller: CallerDep, services: ServicesDep, start: Start = None,
                     end: End = None) -> ComparisonOut:
    """This period against the one of the same length before it, by service and model, the largest change first."""
    scope = _scope(caller.tenant_id, start, end)
    found = await _run(service.compare, _rows(services), services.warehouse.database, caller.tenant_id,
                       scope.start, scope.end)
    return ComparisonOut(start=scope.start, end=scope.end, previous_start=scope.start - (scope.end - scope.start),
                         changes=[ChangeOut(**c.__dict__) for c in found])


@router.get("/forecast", responses=problems(503))
async def forecast(caller: CallerDep, services: ServicesDep, at: Annotated[AwareDatetime | None, Query(
        description="Forecast the month containing this instant, from the usage before it; default now.")] = None,
) -> ForecastOut:
    """The month's total so far and forecast, with a low-high range."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    if not (EARLIEST <= at <= LATEST):
        raise InvalidRequest([{"field": "at", "reason": f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"}])
    result, unpriced = await _run(service.forecast, _rows(services), services.warehouse.database, caller.tenant_id, at)
    return ForecastOut(**result.__dict__, at=at, currency=services.pricing.catalog.currency,
                       unpriced_operations=unpriced, rule=(forecast_rule.__doc__ or "").split("\n\n")[1].strip())
