"""The FastAPI application: routers, error mapping, metrics and the dashboard at `/`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from meterstream.api.auth import authenticated
from meterstream.api.errors import ApiError, InvalidRequest, Unauthorized
from meterstream.api.guard import RequestGuard
from meterstream.api.local import LocalNote
from meterstream.api.metrics import ApiMetrics
from meterstream.api.models import Problem
from meterstream.api.observer import RequestObserver
from meterstream.api.routes import (
    alerts,
    budgets,
    compat,
    insights,
    keys,
    local,
    pricing,
    reports,
    sessions,
    statements,
    system,
    usage,
)
from meterstream.api.services import Services
from meterstream.api.settings import ApiSettings
from meterstream.budgets.client import BudgetOwnerUnavailable
from meterstream.errors import InvalidUsageEvent
from meterstream.settings import Settings
from meterstream.statements.book import CloseBusy, MonthNotEnded, NotClosed, StatementError, StatementNotFound

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>meterstream</title>
<p>The dashboard is not built. Run <code>web/setup.sh</code> (npm --prefix web ci, then npm --prefix web run build)
and restart <code>meterstream serve</code>. The API is at <a href="/docs">/docs</a>.</p>"""


STATEMENT_STATUSES: dict[type, int] = {StatementNotFound: 404, MonthNotEnded: 409, NotClosed: 409,
                                      CloseBusy: 503}


def _problem(status: int, detail: str, errors: list[dict[str, str]] | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    body = Problem(detail=detail, errors=errors or [])  # type: ignore[arg-type]
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "(body)"


def create_app(settings: Settings, api_settings: ApiSettings | None = None) -> FastAPI:
    api_settings = api_settings or ApiSettings()
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = Services.start(settings, api_settings, metrics)
        # With the embedded ClickHouse only this process can read it: the CLI asks here (api/local.py).
        note = None
        if settings.clickhouse_url.startswith("chdb://"):
            host = "127.0.0.1" if api_settings.host in ("0.0.0.0", "::", "") else api_settings.host
            note = app.state.local_note = LocalNote.publish(settings, f"http://{host}:{api_settings.port}")
        try:
            yield
        finally:
            if note is not None:
                note.withdraw(settings)
            await app.state.services.close()

    app = FastAPI(
        title="meterstream",
        version="1",
        summary="Real-time metering of generative-AI usage and cost.",
        description="Every `/v1` endpoint needs `Authorization: Bearer <API key>` and sees only the key's tenant. "
                    "Money is a decimal string.",
        lifespan=lifespan,
    )
    app.add_middleware(metrics.middleware)  # marks where the metrics start; the observer counts
    # Inside CORS (a preflight needs no key), outside everything that reads a body.
    app.add_middleware(RequestGuard,
                       authenticate=lambda scope, token: authenticated(scope["app"].state.services, token),
                       max_body_bytes=api_settings.max_body_bytes,
                       max_batch_body_bytes=api_settings.max_batch_body_bytes)
    if api_settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=api_settings.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"])
    # Outermost, one wrap of send: the access log sees every answer, the guard's 401 and 413 too.
    app.add_middleware(RequestObserver, metrics=metrics, access_log=api_settings.access_log)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
        errors = error.errors if isinstance(error, InvalidRequest) else None
        return _problem(error.status, str(error), errors, headers)

    @app.exception_handler(BudgetOwnerUnavailable)
    async def budget_owner_unavailable(request: Request, error: BudgetOwnerUnavailable) -> JSONResponse:
        return _problem(503, str(error))

    @app.exception_handler(StatementError)
    async def statement_error(request: Request, error: StatementError) -> JSONResponse:
        return _problem(STATEMENT_STATUSES.get(type(error), 400), str(error))

    @app.exception_handler(InvalidUsageEvent)
    async def invalid_event(request: Request, error: InvalidUsageEvent) -> JSONResponse:
        return _problem(422, "invalid usage event", error.errors)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(item["loc"]), "reason": item["msg"]} for item in error.errors()]
        return _problem(422, "invalid request", errors)

    for router in (sessions.router, usage.router, keys.router, pricing.router, reports.router, budgets.router,
                   alerts.router, statements.router, insights.router, system.router, compat.router, local.router):
        app.include_router(router)

    # The dashboard: index.html at `/`, its bundle under /assets. Not a catch-all mount at
    # `/`, which would answer 404 instead of 405 to a wrong method on an API path.
    index = api_settings.dashboard_dir / "index.html"
    if index.exists():
        app.mount("/assets", StaticFiles(directory=api_settings.dashboard_dir / "assets"), name="dashboard-assets")

    @app.get("/", include_in_schema=False)
    async def dashboard() -> Response:
        if index.exists():
            return FileResponse(index)
        return HTMLResponse(NOT_BUILT, status_code=503)

    return app
