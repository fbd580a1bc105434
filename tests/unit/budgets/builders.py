"""Commands for the budget ledger's tests, with fixed times so every figure is by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from meterstream.budgets import commands
from meterstream.schemas.budgets import BudgetDefinition, UsageFacts

TENANT = "acme"
# Early in the day and month: too early for a forecast, so only threshold alerts happen.
NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def budget(limit: str = "10", budget_id: str = "b1", **fields: Any) -> BudgetDefinition:
    return BudgetDefinition(budget_id=budget_id, tenant_id=TENANT, name=fields.pop("name", budget_id),
                            limit=Decimal(limit), created_at=NOW, updated_at=NOW, **fields)


def facts(session_id: str = "s1", **fields: Any) -> UsageFacts:
    return UsageFacts(session_id=session_id, service=fields.pop("service", "text"),
                      model=fields.pop("model", "gemini-2.5-flash"), **fields)


def item(offset: int, cost: str, occurred_at: datetime = NOW, reservation_id: str | None = None,
         status: str = "priced", **fact_fields: Any) -> dict[str, Any]:
    return {"offset": offset, "event_id": str(uuid.uuid4()), "occurred_at": occurred_at.isoformat(), "cost": cost,
            "status": status, "reservation_id": reservation_id, "facts": facts(**fact_fields).model_dump()}


def spend(*items: dict[str, Any], source: str = "usage.events:0", at: datetime = NOW) -> dict[str, Any]:
    return commands.spend(TENANT, source, list(items), at=at)


def reserve(amount: str, at: datetime = NOW, ttl: timedelta = timedelta(minutes=15), **fact_fields: Any) -> dict:
    return commands.reserve(TENANT, Decimal(amount), facts(**fact_fields), ttl, at=at)
