"""The messages on `usage.budget-commands`, built in one place for every sender.

Senders: the API and the CLI (define, delete, reserve, release), the metering worker
(spend) and the worker's expiry timer (expire). Every command is keyed by tenant, so one
tenant's commands share a partition and are decided in order (see ledger.py). A command's
`at` is the sender's clock: the ledger uses it, never its own, so a replay decides alike.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from meterstream.budgets.ledger import reservation_id_for
from meterstream.schemas import PricedUsage, UsageEvent
from meterstream.schemas.budgets import BudgetDefinition, UsageFacts


def _now() -> datetime:
    return datetime.now(UTC)


def _base(kind: str, tenant_id: str, at: datetime | None) -> dict[str, Any]:
    return {"kind": kind, "tenant": tenant_id, "request_id": uuid.uuid4().hex, "at": (at or _now()).isoformat()}


def define(definition: BudgetDefinition) -> dict[str, Any]:
    return {**_base("define", definition.tenant_id, None), "budget": definition.model_dump(mode="json")}


def delete(tenant_id: str, budget_id: str) -> dict[str, Any]:
    return {**_base("delete", tenant_id, None), "budget_id": budget_id}


def reserve(tenant_id: str, amount: Decimal, facts: UsageFacts, ttl: timedelta,
            at: datetime | None = None) -> dict[str, Any]:
    command = _base("reserve", tenant_id, at)
    expires_at = datetime.fromisoformat(command["at"]) + ttl
    return {**command, "reservation_id": reservation_id_for(command["request_id"], expires_at),
            "expires_at": expires_at.isoformat(), "amount": str(amount), "facts": facts.model_dump()}


def release(tenant_id: str, reservation_id: str) -> dict[str, Any]:
    return {**_base("release", tenant_id, None), "reservation_id": reservation_id}


def expire(tenant_id: str, reservation_ids: list[str], at: datetime | None = None) -> dict[str, Any]:
    return {**_base("expire", tenant_id, at), "reservation_ids": reservation_ids}


def facts_of(event: UsageEvent) -> dict[str, Any]:
    return {"session_id": event.session_id, "user_id": event.user_id, "api_key_id": event.api_key_id,
            "service": event.service.value, "model": event.model, "attributes": event.attributes}


def spend_item(priced: PricedUsage, offset: int, index: int | None = None) -> dict[str, Any]:
    """One metered event, as the budget ledger counts it; `index`: its place in a batch envelope."""
    event = priced.event
    position: dict[str, int] = {"offset": offset} if index is None else {"offset": offset, "index": index}
    return {**position, "event_id": str(event.event_id), "occurred_at": event.occurred_at.isoformat(),
            "cost": str(priced.total_cost), "status": priced.status.value, "reservation_id": event.reservation_id,
            "facts": facts_of(event)}


def spend(tenant_id: str, source: str, items: list[dict[str, Any]], at: datetime | None = None) -> dict[str, Any]:
    """The spend of one tenant's events from one metered partition, in offset order."""
    return {**_base("spend", tenant_id, at), "source": source, "items": items}


# A spend command stays far below the broker's 1 MB message limit (an item is ~400 bytes):
# a batch replayed after a crash can hold hundreds of thousands of one tenant's events.
MAX_SPEND_ITEMS = 1000


def spend_commands(metered: list[tuple[Any, str, int, int | None]]) -> list[dict[str, Any]]:
    """Budget spend commands for a batch's priced records: per tenant and source partition, in
    (offset, index) order, at most MAX_SPEND_ITEMS items each. `metered` holds (priced record,
    source, offset, index in its envelope or None)."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for priced, source, offset, index in metered:
        grouped.setdefault((priced.event.tenant_id, source), []).append(spend_item(priced, offset, index))
    return [spend(tenant, source, items[start:start + MAX_SPEND_ITEMS])
            for (tenant, source), items in grouped.items() for start in range(0, len(items), MAX_SPEND_ITEMS)]
