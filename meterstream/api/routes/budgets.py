"""Budgets and reservations: define what a tenant may spend, and hold budget before a call.

Thin: every change and every reservation is a command decided by the budget owner in the
worker (meterstream/budgets/ledger.py); the views are computed from the state it holds.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from meterstream.api.auth import Caller, CallerDep
from meterstream.api.errors import ApiError, InvalidRequest, SessionNotFound, TooManyReservations
from meterstream.api.models import (
    BudgetChange,
    BudgetIn,
    BudgetList,
    BudgetOut,
    BudgetRefusal,
    BudgetStatusOut,
    ReservationIn,
    ReservationCounts,
    ReservationOut,
    ReservationRefused,
    money_text,
)
from meterstream.api.pricing import ESTIMATE_SESSION
from meterstream.api.routes.common import SessionIdPath, blocking, problems
from meterstream.api.services import Services, ServicesDep
from meterstream.budgets import commands
from meterstream.budgets.forecast import projected_spend
from meterstream.budgets.ledger import budget_status, too_many_holds
from meterstream.errors import InvalidUsageEvent
from meterstream.pricing import UsageRejected
from meterstream.schemas import PricingStatus, field_errors, parse_usage_event
from meterstream.schemas.budgets import BudgetDefinition, BudgetScope, UsageFacts, scope_applies

router = APIRouter(prefix="/v1", tags=["budgets"])


class BudgetNotFound(ApiError):
    status = 404

    def __init__(self, budget_id: str) -> None:
        super().__init__(f"budget {budget_id} not found")


class ReservationNotFound(ApiError):
    status = 404

    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"reservation {reservation_id} is not held (unknown, settled, released or expired)")


def budget_out(entry: dict[str, Any], now: datetime) -> BudgetOut:
    definition = BudgetDefinition.model_validate(entry["def"])
    figures = budget_status(entry, now)
    end = figures["period_end"]
    projected = None if end is None else projected_spend(figures["period_start"], end, now, figures["spent"])
    return BudgetOut(
        **definition.model_dump(include={"budget_id", "name", "scope", "period", "limit", "currency", "action",
                                         "revision", "created_at", "updated_at"}),
        thresholds=list(definition.thresholds),
        status=BudgetStatusOut(**{name: figures[name] for name in (
            "period_start", "period_end", "spent", "reserved", "remaining", "operations", "unpriced_operations",
            "thresholds_crossed", "runs_out_at")}, projected_spend=projected),
    )


async def _entries(services: Services, tenant_id: str) -> dict[str, Any]:
    state = await services.worker.budget_state(tenant_id)
    return {} if state is None else state["budgets"]


async def _entry(services: Services, caller: Caller, budget_id: str) -> dict[str, Any]:
    entry = (await _entries(services, caller.tenant_id)).get(budget_id)
    if entry is None:
        raise BudgetNotFound(budget_id)
    return entry


async def _define(services: Services, definition: BudgetDefinition) -> BudgetOut:
    await services.budgets.ask_async(commands.define(definition))
    return await _read(services, definition.tenant_id, definition.budget_id)


async def _read(services: Services, tenant_id: str, budget_id: str) -> BudgetOut:
    entry = (await _entries(services, tenant_id)).get(budget_id)
    if entry is None:
        raise BudgetNotFound(budget_id)
    return budget_out(entry, datetime.now(UTC))


def _check_currency(services: Services, currency: str | None) -> str:
    tenant_currency = services.pricing.catalog.currency
    if currency is not None and currency != tenant_currency:
        raise InvalidRequest([{"field": "currency", "reason": f"the tenant is billed in {tenant_currency}"}])
    return tenant_currency


@router.post("/budgets", status_code=status.HTTP_201_CREATED, responses=problems(503))
async def create_budget(body: BudgetIn, caller: CallerDep, services: ServicesDep) -> BudgetOut:
    """Create a budget; it counts usage from the next event on. Thresholds default to 50, 80 and 100 %."""
    now = datetime.now(UTC)
    definition = BudgetDefinition(
        budget_id=f"bud_{uuid.uuid4().hex[:16]}", tenant_id=caller.tenant_id, currency=_check_currency(
            services, body.currency), created_at=now, updated_at=now,
        **body.model_dump(exclude={"currency"}),
    )
    return await _define(services, definition)


@router.get("/budgets", responses=problems(503))
async def list_budgets(caller: CallerDep, services: ServicesDep) -> BudgetList:
    """Every budget of the tenant, and how its reservations ended."""
    now = datetime.now(UTC)
    state = await services.worker.budget_state(caller.tenant_id)
    if state is None:
        return BudgetList(budgets=[])
    return BudgetList(
        budgets=sorted((budget_out(entry, now) for entry in state["budgets"].values()), key=lambda b: b.created_at),
        reservations=ReservationCounts(settled=state["settled"], expired=state["expired"],
                                       unknown_settlements=state["mismatches"]["unknown"],
                                       expired_settlements=state["mismatches"]["expired"]))


@router.get("/budgets/{budget_id}", responses=problems(404, 503))
async def get_budget(budget_id: str, caller: CallerDep, services: ServicesDep) -> BudgetOut:
    """Limit, spent, reserved and remaining in the current period, thresholds crossed, and the forecast."""
    return budget_out(await _entry(services, caller, budget_id), datetime.now(UTC))


@router.patch("/budgets/{budget_id}", responses=problems(404, 503))
async def change_budget(budget_id: str, body: BudgetChange, caller: CallerDep, services: ServicesDep) -> BudgetOut:
    """Change a budget from the next event on. A new scope or period counts afresh."""
    current = BudgetDefinition.model_validate((await _entry(services, caller, budget_id))["def"])
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    try:
        changed = BudgetDefinition.model_validate({
            **current.model_dump(), **changes, "updated_at": datetime.now(UTC)})
    except ValidationError as error:  # e.g. thresholds that no longer fit
        raise InvalidRequest(field_errors(error)) from None
    return await _define(services, changed)


@router.delete("/budgets/{budget_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404, 503))
async def delete_budget(budget_id: str, caller: CallerDep, services: ServicesDep) -> Response:
    reply = await services.budgets.ask_async(commands.delete(caller.tenant_id, budget_id))
    if not reply["ok"]:
        raise BudgetNotFound(budget_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/sessions/{session_id}/budgets", responses=problems(404, 503))
async def session_budgets(session_id: SessionIdPath, caller: CallerDep, services: ServicesDep) -> BudgetList:
    """The budgets that count this session's usage (the tracker shows the tightest)."""
    record = await blocking(services.store.get_session, caller.tenant_id, session_id)
    if record is None:
        raise SessionNotFound(session_id)
    facts = UsageFacts(session_id=session_id, user_id=record.user_id, service="", model="",
                       attributes=record.labels)
    now = datetime.now(UTC)
    return BudgetList(budgets=[
        budget_out(entry, now) for entry in (await _entries(services, caller.tenant_id)).values()
        if _counts_session(BudgetDefinition.model_validate(entry["def"]).scope, facts)
    ])


def _counts_session(scope: BudgetScope, facts: UsageFacts) -> bool:
    """Like scope_applies, but a budget narrowed to a service or model counts part of the session."""
    return scope_applies(scope.model_copy(update={"service": None, "model": None}), facts)


@router.post("/reservations", status_code=status.HTTP_201_CREATED, response_model=ReservationOut, responses={
    **problems(409, 503), 402: {"model": ReservationRefused, "description": "A blocking budget has no room for it."}})
async def reserve(body: ReservationIn, caller: CallerDep, services: ServicesDep) -> ReservationOut | JSONResponse:
    """Hold budget for a planned call: priced as the stream will price it, checked against every
    budget that applies. Send the call's usage with `reservation_id` to settle it."""
    planned = body.model_dump(exclude_none=True, exclude={"session_id", "user_id", "attributes", "ttl_seconds"})
    try:
        event = parse_usage_event({**planned, "tenant_id": caller.tenant_id, "session_id": ESTIMATE_SESSION})
        priced = services.pricing.estimate(event)
    except InvalidUsageEvent as error:
        raise InvalidRequest(error.errors) from None
    except UsageRejected as error:
        raise InvalidRequest([{"field": error.field, "reason": str(error)}]) from None
    if priced.status is PricingStatus.UNPRICED:
        raise InvalidRequest([{"field": "model", "reason": f"cannot hold budget for usage with no price: "
                                                          f"{priced.reason}"}])
    facts = UsageFacts(session_id=body.session_id, user_id=body.user_id, api_key_id=caller.key_id,
                       service=event.service.value, model=event.model, attributes=body.attributes)
    ttl = timedelta(seconds=body.ttl_seconds or services.settings.reservation_ttl_seconds)
    reply = await services.budgets.ask_async(commands.reserve(caller.tenant_id, priced.total_cost, facts, ttl))
    currency = priced.currency
    if (crowded := too_many_holds(reply)) is not None:
        raise TooManyReservations(crowded)
    if not reply["granted"]:
        refusals = [BudgetRefusal.model_validate(refusal) for refusal in reply["refused_by"]]
        tightest = refusals[0]
        refused = ReservationRefused(
            detail=f"budget '{tightest.name}' ({tightest.budget_id}) has {money_text(tightest.remaining)} {currency} "
                   f"left; this call needs {money_text(priced.total_cost)} {currency}",
            amount=priced.total_cost, currency=currency, refused_by=refusals)
        return JSONResponse(refused.model_dump(mode="json"), status_code=status.HTTP_402_PAYMENT_REQUIRED)
    return ReservationOut(reservation_id=reply["reservation_id"], amount=reply["amount"], currency=currency,
                          expires_at=reply["expires_at"], budgets=reply["budgets"])


@router.post("/reservations/{reservation_id}/release", status_code=status.HTTP_204_NO_CONTENT,
             responses=problems(404, 503))
async def release(reservation_id: str, caller: CallerDep, services: ServicesDep) -> Response:
    """Release a hold whose call did not happen (no usage will settle it)."""
    reply = await services.budgets.ask_async(commands.release(caller.tenant_id, reservation_id))
    if not reply["ok"]:
        raise ReservationNotFound(reservation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
