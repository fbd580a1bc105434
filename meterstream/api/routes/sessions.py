"""Sessions: start and end them, read their live stats, summary, export and push stream."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from sse_starlette import EventSourceResponse

from meterstream.api.auth import CallerDep
from meterstream.api.errors import SessionNotFound
from meterstream.api.models import (
    OperationOut,
    ServiceSummary,
    SessionExport,
    SessionOut,
    SessionStart,
    SessionStats,
    SessionSummary,
    money_text,
)
from meterstream.api.routes.common import SessionIdPath, blocking, operation, problems, utc
from meterstream.api.services import Services, ServicesDep
from meterstream.api.store import SessionRecord
from meterstream.schemas import SessionTotals
from meterstream.sinks.clickhouse.usage_queries import SessionOperations, SessionServices

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


def session_out(record: SessionRecord) -> SessionOut:
    return SessionOut(
        session_id=record.session_id, user_id=record.user_id, labels=record.labels,
        status="active" if record.active else "ended", started_by=record.started_by,  # type: ignore[arg-type]
        started_at=record.started_at, ended_at=record.ended_at,
    )


async def _record(services: Services, tenant_id: str, session_id: str) -> SessionRecord | None:
    return await blocking(services.store.get_session, tenant_id, session_id)


async def _live(services: Services, tenant_id: str, session_id: str) -> tuple[SessionRecord | None, SessionTotals | None]:
    """The session's record and live totals, as far as the caller's tenant may see them."""
    record = await _record(services, tenant_id, session_id)
    totals = await services.worker.session_totals(session_id)
    if totals is not None and totals.tenant_id != tenant_id:
        raise SessionNotFound(session_id)
    if record is None and totals is None:
        raise SessionNotFound(session_id)
    return record, totals


def _stats(services: Services, session_id: str, totals: SessionTotals | None) -> SessionStats:
    if totals is None:
        return SessionStats.empty(session_id, services.pricing.catalog.currency)
    return SessionStats.of(totals)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problems())
async def start_session(body: SessionStart, caller: CallerDep, services: ServicesDep) -> SessionOut:
    """Start a session with a server-generated id. Sending usage to a new id starts one too."""
    record = await blocking(services.store.start_session, caller.tenant_id, body.user_id, body.labels)
    return session_out(record)


@router.get("", responses=problems())
async def list_sessions(
    caller: CallerDep, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[SessionOut]:
    """The tenant's sessions, newest first."""
    return [session_out(r) for r in await blocking(services.store.list_sessions, caller.tenant_id, limit)]


@router.get("/{session_id}", responses=problems(404))
async def get_session(session_id: SessionIdPath, caller: CallerDep, services: ServicesDep) -> SessionOut:
    record = await _record(services, caller.tenant_id, session_id)
    if record is None:
        raise SessionNotFound(session_id)
    return session_out(record)


@router.post("/{session_id}/end", responses=problems(404))
async def end_session(session_id: SessionIdPath, caller: CallerDep, services: ServicesDep) -> SessionOut:
    """End a session: it rejects usage from now on. Ending it again changes nothing."""
    return session_out(await blocking(services.store.end_session, caller.tenant_id, session_id))


@router.get("/{session_id}/stats", responses=problems(404, 503))
async def session_stats(session_id: SessionIdPath, caller: CallerDep, services: ServicesDep) -> SessionStats:
    """Live totals from the stream: cost, operations, quantities and a per-service breakdown."""
    _, totals = await _live(services, caller.tenant_id, session_id)
    return _stats(services, session_id, totals)


@router.get("/{session_id}/summary", responses=problems(404, 503))
async def session_summary(session_id: SessionIdPath, caller: CallerDep, services: ServicesDep) -> SessionSummary:
    """The session as stored in ClickHouse: start and end, operations, cost, services and models."""
    record = await _record(services, caller.tenant_id, session_id)
    query = SessionServices(services.warehouse.database, caller.tenant_id, session_id)
    rows = await services.warehouse.rows(query)
    if record is None and not rows:
        raise SessionNotFound(session_id)
    first = min((utc(r["first_event_at"]) for r in rows), default=None)
    last = max((utc(r["last_event_at"]) for r in rows), default=None)
    return SessionSummary(
        session_id=session_id,
        status="unknown" if record is None else ("active" if record.active else "ended"),
        started_at=record.started_at if record else first,
        ended_at=record.ended_at if record else None,
        first_event_at=first, last_event_at=last,
        operations=sum(r["operations"] for r in rows),
        unpriced_operations=sum(r["unpriced_operations"] for r in rows),
        total_cost=sum((r["cost"] for r in rows), Decimal(0)),
        currency=services.pricing.catalog.currency,
        services=[ServiceSummary(service=r["service"], operations=r["operations"], cost=r["cost"],
                                 unpriced_operations=r["unpriced_operations"], models=r["models"])
                  for r in rows],
        models=sorted({m for r in rows for m in r["models"]}),
    )


@router.get(
    "/{session_id}/export",
    responses={**problems(404, 503), 200: {
        "description": "Every operation with its cost breakdown.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SessionExport"}},
                    "text/csv": {"schema": {"type": "string"}}},
    }},
    response_model=SessionExport,
)
async def export_session(
    session_id: SessionIdPath, caller: CallerDep, services: ServicesDep,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Every operation of the session, oldest first, with its cost breakdown, from ClickHouse."""
    record = await _record(services, caller.tenant_id, session_id)
    rows = await services.warehouse.rows(SessionOperations(services.warehouse.database, caller.tenant_id, session_id))
    if record is None and not rows:
        raise SessionNotFound(session_id)
    operations = [operation(row) for row in rows]
    if format == "csv":
        return Response(
            operations_csv(operations), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{session_id}.csv"'},
        )
    export = SessionExport(
        session_id=session_id,
        currency=operations[0].currency if operations else services.pricing.catalog.currency,
        total_cost=sum((o.cost for o in operations), Decimal(0)), operations=operations,
    )
    return Response(export.model_dump_json(), media_type="application/json")


def operations_csv(operations: list[OperationOut]) -> str:
    """One row per operation; money as plain decimal text; one cost_<component> column per component."""
    components = sorted({c for o in operations for c in o.cost_lines})
    base = [name for name in OperationOut.model_fields if name not in ("cost_lines", "attributes")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*base, *(f"cost_{c}" for c in components), "attributes"])
    for item in operations:
        data = item.model_dump(mode="json")
        writer.writerow([
            *("" if data[name] is None else data[name] for name in base),
            *(money_text(item.cost_lines[c]) if c in item.cost_lines else "" for c in components),
            json.dumps(item.attributes, sort_keys=True, ensure_ascii=False) if item.attributes else "",
        ])
    return out.getvalue()


@router.get(
    "/{session_id}/events",
    response_class=EventSourceResponse,
    responses={**problems(404, 503), 200: {
        "description": "Server-sent events: `session` once, then `totals` (SessionStats JSON) on every change.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }},
)
async def session_events(session_id: SessionIdPath, caller: CallerDep, services: ServicesDep) -> EventSourceResponse:
    """Push the session now, its live totals now and whenever they change, and the session
    again when it changes (ended here or on another host)."""
    record, _ = await _live(services, caller.tenant_id, session_id)
    poll = services.api.live_poll_seconds

    async def stream() -> AsyncIterator[dict[str, str]]:
        pushes: asyncio.Queue[dict[str, str] | None] = asyncio.Queue()

        async def totals_feed() -> None:
            async for totals in services.live.subscribe(session_id):
                if totals is not None and totals.tenant_id != caller.tenant_id:
                    break
                stats = _stats(services, session_id, totals)
                await pushes.put({"event": "totals", "id": str(stats.operations), "data": stats.model_dump_json()})
            await pushes.put(None)

        async def session_feed(shown: SessionRecord | None) -> None:
            # An in-memory read of the sessions topic as this host has it: its reader
            # long-polls, so an end written on any host shows within milliseconds.
            while shown is None or shown.active:
                await asyncio.sleep(poll)
                current = services.store.known_session(session_id)
                if current is not None and current.tenant_id == caller.tenant_id and current != shown:
                    shown = current
                    await pushes.put({"event": "session", "data": session_out(current).model_dump_json()})

        services.metrics.live_subscribers.inc()
        feeds = [asyncio.create_task(totals_feed()), asyncio.create_task(session_feed(record))]
        try:
            if record is not None:
                yield {"event": "session", "data": session_out(record).model_dump_json()}
            while (push := await pushes.get()) is not None:
                yield push
        finally:
            for feed in feeds:
                feed.cancel()
            services.metrics.live_subscribers.dec()

    return EventSourceResponse(stream(), ping=15)
