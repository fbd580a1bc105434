"""Recording usage: one event or a batch, validated, checked against the session, then sent to Kafka."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from meterstream.api.auth import Caller, CallerDep
from meterstream.api.errors import ApiError, ConflictingDuplicate, InvalidRequest, UpstreamUnavailable
from meterstream.api.models import Accepted, BatchItem, BatchResult, FieldError, IngestionHealth, UsageBatch, UsageIn
from meterstream.api.routes.common import blocking, problems
from meterstream.api.services import Services, ServicesDep
from meterstream.errors import InvalidUsageEvent
from meterstream.pricing import UsageRejected
from meterstream.schemas import UsageEvent, parse_usage_event

router = APIRouter(prefix="/v1/usage", tags=["usage"])


def _mismatches(caller: Caller, item: dict[str, Any]) -> list[dict[str, str]]:
    """Fields the API key decides: a client may leave them out, but not contradict them."""
    return [{"field": name, "reason": "does not match the API key's (leave it out)"}
            for name, value in (("tenant_id", caller.tenant_id), ("api_key_id", caller.key_id))
            if item.get(name) is not None and item[name] != value]


def as_event(caller: Caller, item: dict[str, Any]) -> UsageEvent:
    """Validate one raw item as the caller's usage event; InvalidUsageEvent names the fields."""
    mismatches = _mismatches(caller, item)
    if mismatches:
        raise InvalidUsageEvent(mismatches)
    return parse_usage_event({**item, "tenant_id": caller.tenant_id, "api_key_id": caller.key_id})


def refused_by_pricing(services: Services, event: UsageEvent) -> None:
    """Refuse, naming the field, usage the stream would dead-letter by the tenant's pricing
    policy (an unknown model, a resolution the catalog does not price): pricing is pure, so
    the API can tell before sending it."""
    try:
        services.pricing.estimate(event)
    except UsageRejected as error:
        raise InvalidUsageEvent([{"field": error.field, "reason": str(error)}]) from None


async def _admit(services: Services, caller: Caller, event: UsageEvent) -> None:
    """Start the session implicitly if new; refuse an ended or foreign session (decided together
    with the concurrent requests, api/admission.py)."""
    await services.admission.admit(caller.tenant_id, event.session_id, event.user_id)


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=problems(403, 409, 503))
async def record_usage(body: UsageIn, caller: CallerDep, services: ServicesDep) -> Accepted:
    """Record one usage event. Answers once Kafka has it; re-sending the same `event_id` is harmless,
    re-sending it with other content is a conflict (409 when this host sent the first one)."""
    try:
        event = as_event(caller, body.model_dump())
        refused_by_pricing(services, event)
    except InvalidUsageEvent as error:
        services.metrics.usage_events.labels("rejected").inc()
        raise InvalidRequest(error.errors) from None
    if services.recent.conflicts(event):
        services.metrics.usage_events.labels("rejected").inc()
        raise ConflictingDuplicate(str(event.event_id))
    await _admit(services, caller, event)
    [failure] = await services.publisher.publish([event])
    if failure is not None:
        raise UpstreamUnavailable(f"Kafka did not take the event: {failure}")
    services.recent.remember([event])
    services.metrics.usage_events.labels("accepted").inc()
    return Accepted(event_id=event.event_id, session_id=event.session_id)


@router.post("/batch", responses=problems(503))
async def record_usage_batch(body: UsageBatch, caller: CallerDep, services: ServicesDep) -> BatchResult:
    """Record up to 1,000 events. Each item is accepted or rejected on its own, with the fields at fault."""
    slots: list[BatchItem | None] = []  # None: valid so far, decided once its session is
    checked: list[tuple[int, UsageEvent]] = []
    in_batch: dict[str, UsageEvent] = {}  # event_id -> its first item here
    for index, raw in enumerate(body.events):
        try:
            event = as_event(caller, raw)
            refused_by_pricing(services, event)
        except InvalidUsageEvent as error:
            slots.append(_rejected(index, raw, error.errors))
            continue
        first = in_batch.setdefault(str(event.event_id), event)
        if services.recent.conflicts(event) or (first is not event and services.recent.differ(first, event)):
            conflict = ConflictingDuplicate(str(event.event_id))
            slots.append(_rejected(index, raw, [{"field": conflict.field, "reason": str(conflict)}]))
            continue
        slots.append(None)
        checked.append((index, event))
    # The batch's sessions in one go (one catch-up, the new ones claimed together); the first
    # event of a new session here names its user.
    users: dict[str, str | None] = {}
    for _, event in checked:
        users.setdefault(event.session_id, event.user_id)
    sessions = await blocking(services.store.sessions_for_usage, caller.tenant_id, users) if users else {}
    valid: list[tuple[int, UsageEvent]] = []
    for index, event in checked:
        session = sessions[event.session_id]
        if isinstance(session, ApiError):
            slots[index] = _rejected(index, {"session_id": event.session_id},
                                     [{"field": "session_id", "reason": str(session)}])
            continue
        valid.append((index, event))
        slots[index] = BatchItem(index=index, status="accepted", event_id=event.event_id, session_id=event.session_id)
    items = [item for item in slots if item is not None]
    failures = await services.publisher.publish([event for _, event in valid]) if valid else []
    if valid and all(failures):
        raise UpstreamUnavailable(f"Kafka did not take the batch: {failures[0]}")
    services.recent.remember(event for (_, event), failure in zip(valid, failures) if failure is None)
    for (index, event), failure in zip(valid, failures):
        if failure is not None:
            items[index] = _rejected(index, {"session_id": event.session_id},
                                     [{"field": "(event)", "reason": f"not delivered to Kafka: {failure}"}])
    accepted = sum(1 for item in items if item.status == "accepted")
    services.metrics.usage_events.labels("accepted").inc(accepted)
    services.metrics.usage_events.labels("rejected").inc(len(items) - accepted)
    return BatchResult(accepted=accepted, rejected=len(items) - accepted, items=items)


@router.get("/health", responses=problems(503))
async def usage_health(caller: CallerDep, services: ServicesDep) -> IngestionHealth:
    """How the stream counted the tenant's usage: priced, unpriced, duplicates, conflicting
    duplicates (an event_id re-sent with other content) and dead letters, over every worker."""
    counts = await services.worker.tenant_ledger(caller.tenant_id)
    return IngestionHealth(priced=counts.get("priced", 0), unpriced=counts.get("unpriced", 0),
                           duplicates=counts.get("duplicate", 0), conflicts=counts.get("conflict", 0),
                           dead_lettered=counts.get("dead_letter", 0))


def _rejected(index: int, raw: dict[str, Any], errors: list[dict[str, str]]) -> BatchItem:
    session_id = raw.get("session_id")
    return BatchItem(
        index=index, status="rejected", session_id=session_id if isinstance(session_id, str) else None,
        errors=[FieldError(**e) for e in errors],
    )
