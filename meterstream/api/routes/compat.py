"""The original tracker's router under `/compat`, authenticated like every `/v1` endpoint.

`POST /compat/record-usage`, `GET /compat/session-stats/{id}` (UsageStats), `POST /compat/estimate-cost`
and `GET /compat/export-session/{id}` (with its SessionSummary), so an app built on it switches by
changing its base URL and sending its API key. The shapes and their translation are in
meterstream/compat/legacy.py; these handlers only fetch and answer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response

from meterstream.api.auth import CallerDep
from meterstream.api.errors import InvalidRequest, SessionNotFound, UpstreamUnavailable
from meterstream.api.pricing import ESTIMATE_SESSION
from meterstream.api.routes.common import SessionIdPath, blocking, operation, problems, utc
from meterstream.api.routes.sessions import _live
from meterstream.api.routes.usage import as_event
from meterstream.api.services import ServicesDep
from meterstream.compat import legacy
from meterstream.errors import InvalidUsageEvent
from meterstream.pricing import UnknownModelRejected
from meterstream.pricing.money import money_text
from meterstream.schemas import parse_usage_event
from meterstream.sinks.clickhouse.usage_queries import SessionOperations, SessionServices

router = APIRouter(prefix="/compat", tags=["compatibility with the original tracker"])

LegacyCall = Body(examples=[{"session_id": "sess-42", "model_name": "imagen-4.0-generate-001",
                             "service_type": "image", "operation_type": "generate", "number_of_images": 2}])


def _json(value: Any) -> Response:
    return Response(legacy.render(value), media_type="application/json")


def _call(body: dict[str, Any], *required: str) -> dict[str, Any]:
    missing = [{"field": name, "reason": "required"} for name in required if not isinstance(body.get(name), str)]
    if missing:
        raise InvalidRequest(missing)
    return body


def _event_dict(body: dict[str, Any], session_id: str) -> dict[str, Any]:
    fields = {k: v for k, v in body.items() if k not in ("session_id", "model_name", "service_type", "operation_type")}
    service = body["service_type"] if "service_type" in body else _service_of(body)
    try:
        return legacy.event_of(session_id, body["model_name"], service, body.get("operation_type"), fields)
    except InvalidUsageEvent as error:
        raise InvalidRequest(error.errors) from None


def _service_of(body: dict[str, Any]) -> str:
    """The estimate's body may leave service_type out: guess it from the usage fields."""
    if any(name in body for name in legacy.IMAGE_FIELDS):
        return "image"
    if any(name in body for name in legacy.VIDEO_FIELDS):
        return "video"
    if any(name in body for name in legacy.CHARACTER_FIELDS):
        return "speech"
    return "text"


@router.post("/record-usage", responses=problems(403, 409, 503))
async def record_usage(caller: CallerDep, services: ServicesDep, body: dict[str, Any] = LegacyCall) -> dict[str, Any]:
    """The original `POST /record-usage`: `session_id`, `model_name`, `service_type`, `operation_type` and the
    usage fields (`input_tokens`/`output_tokens`, `number_of_images`, `duration_seconds`, `character_count`)."""
    _call(body, "session_id", "model_name", "service_type")
    try:
        event = as_event(caller, _event_dict(body, body["session_id"]))
    except InvalidUsageEvent as error:
        raise InvalidRequest(error.errors) from None
    await services.admission.admit(caller.tenant_id, event.session_id, event.user_id)  # as POST /v1/usage
    [failure] = await services.publisher.publish([event])
    if failure is not None:
        raise UpstreamUnavailable(f"Kafka did not take the event: {failure}")
    services.metrics.usage_events.labels("accepted").inc()
    return {"success": True, "session_id": event.session_id, "event_id": str(event.event_id)}


@router.get("/session-stats/{session_id}", responses=problems(404, 503))
async def session_stats(session_id: SessionIdPath, caller: CallerDep, services: ServicesDep) -> Response:
    """`UsageStats {session_active, session_id, total_cost, total_operations, services_breakdown}`, live;
    money as exact JSON numbers."""
    record, totals = await _live(services, caller.tenant_id, session_id)
    return _json(legacy.usage_stats(session_id, record.active if record is not None else True, totals))


@router.post("/estimate-cost", responses=problems())
async def estimate_cost(caller: CallerDep, services: ServicesDep, body: dict[str, Any] = LegacyCall) -> dict[str, Any]:
    """The original `POST /estimate-cost`: `model_name` and the planned usage fields (`service_type` optional).
    The cost is a decimal string, as everywhere in meterstream (the old shape did not define it)."""
    _call(body, "model_name")
    try:
        planned = parse_usage_event({**_event_dict(body, ESTIMATE_SESSION), "tenant_id": caller.tenant_id})
        priced = services.pricing.estimate(planned)
    except InvalidUsageEvent as error:
        raise InvalidRequest(error.errors) from None
    except UnknownModelRejected as error:
        raise InvalidRequest([{"field": "model_name", "reason": str(error)}]) from None
    return {"model_name": planned.model, "service_type": planned.service.value, "billing_type": planned.usage.unit,
            "estimated_cost": money_text(priced.total_cost), "currency": priced.currency,
            "pricing_status": priced.status.value,
            "breakdown": {line.component: money_text(line.cost) for line in priced.lines}}


@router.get("/export-session/{session_id}", responses=problems(404, 503))
async def export_session(session_id: SessionIdPath, caller: CallerDep, services: ServicesDep) -> Response:
    """The original `GET /export-session/{id}`: `session_summary` (SessionSummary, money as exact JSON numbers)
    and every operation, oldest first (its money as decimal strings), from ClickHouse."""
    record = await blocking(services.store.get_session, caller.tenant_id, session_id)
    database = services.warehouse.database
    rows = await services.warehouse.rows(SessionServices(database, caller.tenant_id, session_id))
    if record is None and not rows:
        raise SessionNotFound(session_id)
    operations = [operation(row) for row in
                  await services.warehouse.rows(SessionOperations(database, caller.tenant_id, session_id))]
    first = min((utc(r["first_event_at"]) for r in rows), default=None)
    last = max((utc(r["last_event_at"]) for r in rows), default=None)
    start = record.started_at if record is not None else first
    end = record.ended_at if record is not None and record.ended_at is not None else (last or start)
    return _json({
        "session_id": session_id,
        "session_summary": legacy.session_summary(session_id, start, end, rows),
        "operations": [{
            "event_id": str(o.event_id), "timestamp": o.occurred_at.isoformat(), "model_name": o.model,
            "service_type": o.service, "operation_type": o.operation, "billing_type": o.billing_unit,
            "input_tokens": o.input_tokens, "output_tokens": o.output_tokens, "number_of_images": o.images,
            "duration_seconds": money_text(o.video_seconds), "character_count": o.characters,
            "cost": money_text(o.cost), "currency": o.currency, "pricing_status": o.pricing_status,
        } for o in operations],
    })
