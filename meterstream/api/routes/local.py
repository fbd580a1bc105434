"""`/local/…`: what the CLI on this machine asks the serve that holds the embedded ClickHouse
(meterstream/api/local.py). Not in the OpenAPI schema; the token is in the data dir's note."""

from __future__ import annotations

import hmac
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from meterstream.api.errors import InvalidRequest, Unauthorized
from meterstream.api.services import ServicesDep
from meterstream.reconcile import reconcile
from meterstream.sinks.clickhouse import CostReport, run_report

router = APIRouter(prefix="/local", include_in_schema=False)


class ReportIn(BaseModel):
    group_by: list[str] = Field(default_factory=lambda: ["service", "model"])
    tenant_id: str | None = None
    session_id: str | None = None


class ReconcileIn(BaseModel):
    worker_urls: list[str] | None = None


def _check(request: Request) -> None:
    note = getattr(request.app.state, "local_note", None)
    presented = request.headers.get("authorization", "")
    if note is None or not hmac.compare_digest(presented.encode(), f"Bearer {note.token}".encode()):
        raise Unauthorized("the local endpoints need the token of this serve's note in its data dir")


@router.post("/report")
async def local_report(body: ReportIn, request: Request, services: ServicesDep) -> dict[str, Any]:
    _check(request)
    report = CostReport(services.settings.clickhouse_database, group_by=tuple(body.group_by),
                        tenant_id=body.tenant_id, session_id=body.session_id)
    try:
        result = await run_in_threadpool(run_report, services.warehouse.client, report)
    except ValueError as error:
        raise InvalidRequest([{"field": "group_by", "reason": str(error)}]) from None
    return {"columns": list(result.columns),
            "rows": [[str(v) if isinstance(v, Decimal) else v for v in row] for row in result.rows]}


@router.post("/reconcile")
async def local_reconcile(body: ReconcileIn, request: Request, services: ServicesDep) -> dict[str, Any]:
    _check(request)
    found = await run_in_threadpool(reconcile, services.settings, services.warehouse.client, body.worker_urls)
    return {"consistent": found.consistent, "summary": found.summary(), "differences": found.differences}
