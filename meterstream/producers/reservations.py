"""Holding budget before a model call, from the service that makes it.

    with emitter.reserve("gemini-2.5-pro", {"unit": "tokens", "input_tokens": 8000, "output_tokens": 2000},
                         tenant_id="acme", session_id="s-42") as hold:
        response = client.models.generate_content(...)
        hold.settle(response)          # the actual usage, from the SDK response

`reserve` prices the plan with the tenant's prices (the stream's own rules), asks the
budget owner in the worker, and raises BudgetExceeded, naming the budget, when a blocking
budget has no room. `settle` emits the call's real usage carrying the reservation id: the
stream releases the hold and counts the actual cost. Leaving the block without settling
(the call failed) releases the hold at once; an abandoned hold expires by itself.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from meterstream.budgets import commands
from meterstream.budgets.ledger import too_many_holds
from meterstream.errors import MeterstreamError
from meterstream.pricing import Pricer
from meterstream.schemas import UsageEvent, parse_usage_event
from meterstream.schemas.budgets import UsageFacts

if TYPE_CHECKING:
    from meterstream.budgets.client import BudgetClient
    from meterstream.producers.emitter import UsageEmitter

log = logging.getLogger(__name__)

SERVICE_OF_UNIT = {"tokens": "text", "images": "image", "video": "video", "characters": "speech"}


class TooManyReservations(MeterstreamError):
    """The tenant's unsettled reservations are at the limit (METERSTREAM_MAX_OPEN_RESERVATIONS)."""


class BudgetExceeded(MeterstreamError):
    """A blocking budget has no room for the planned call; `refused_by` names each budget."""

    def __init__(self, amount: Decimal, currency: str, refused_by: list[dict[str, Any]]) -> None:
        self.amount, self.currency, self.refused_by = amount, currency, refused_by
        tightest = refused_by[0]
        super().__init__(f"budget '{tightest['name']}' ({tightest['budget_id']}) has {tightest['remaining']} "
                         f"{currency} left; this call needs {amount} {currency}")


def planned_event(model: str, usage: dict[str, Any], **fields: Any) -> UsageEvent:
    """The planned call as a usage event (validated: a bad field raises InvalidUsageEvent)."""
    service = fields.pop("service", None) or SERVICE_OF_UNIT.get(usage.get("unit", ""), "other")
    return parse_usage_event({**{k: v for k, v in fields.items() if v is not None},
                              "model": model, "service": service, "usage": usage})


class Reservation:
    """A granted hold: settle it with the call's actual usage, or release it."""

    def __init__(self, emitter: UsageEmitter, client: BudgetClient, planned: UsageEvent, reply: dict[str, Any]) -> None:
        self.emitter, self.client, self.planned = emitter, client, planned
        self.reservation_id: str = reply["reservation_id"]
        self.amount = Decimal(reply["amount"])
        self.expires_at: str = reply["expires_at"]
        self.budgets: list[str] = reply["budgets"]
        self.done = False

    def settle(self, actual: Any = None) -> UsageEvent:
        """Emit the call's actual usage with this reservation's id. `actual` is a google-genai
        GenerateContentResponse, a UsageEvent or event dict, or None for "as planned"."""
        event = self._actual(actual).model_copy(update={"reservation_id": self.reservation_id})
        self.done = True
        return self.emitter.emit(event)

    def _actual(self, actual: Any) -> UsageEvent:
        if actual is None:
            return self.planned.model_copy(update={"event_id": UsageEvent.model_fields["event_id"].default_factory()})
        if isinstance(actual, UsageEvent):
            return actual
        if isinstance(actual, dict):
            return parse_usage_event({"tenant_id": self.planned.tenant_id, "session_id": self.planned.session_id,
                                      "user_id": self.planned.user_id, **actual})
        from meterstream.producers.adapters.google_genai import event_from_generate_content

        return event_from_generate_content(actual, tenant_id=self.planned.tenant_id,
                                           session_id=self.planned.session_id, model=self.planned.model,
                                           user_id=self.planned.user_id, attributes=self.planned.attributes)

    def release(self) -> None:
        """Give the hold back now (the call did not happen)."""
        self.done = True
        self.client.ask(commands.release(self.planned.tenant_id, self.reservation_id))

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if not self.done:
            if exc_type is None:
                log.warning("reservation %s was neither settled nor released; releasing it", self.reservation_id)
            self.release()


def reserve(emitter: UsageEmitter, client: BudgetClient, pricer: Pricer, planned: UsageEvent,
            ttl: timedelta) -> Reservation:
    priced = pricer.price(planned)
    facts = UsageFacts(session_id=planned.session_id, user_id=planned.user_id, service=planned.service.value,
                       model=planned.model, attributes=planned.attributes)
    reply = client.ask(commands.reserve(planned.tenant_id, priced.total_cost, facts, ttl))
    if (crowded := too_many_holds(reply)) is not None:
        raise TooManyReservations(crowded)
    if not reply["granted"]:
        raise BudgetExceeded(priced.total_cost, priced.currency, reply["refused_by"])
    return Reservation(emitter, client, planned, reply)
