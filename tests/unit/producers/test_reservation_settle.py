"""A reservation is settled by an event that carries its id, built from what the call reported."""

from __future__ import annotations

import pytest

from meterstream.producers.reservations import Reservation, planned_event
from meterstream.schemas import TokenUsage, UsageEvent

types = pytest.importorskip("google.genai.types", reason="google-genai is the optional extra 'adapters'")

REPLY = {"reservation_id": "rsv_1_abc", "amount": "0.3", "expires_at": "2026-12-01T10:00:00+00:00", "budgets": ["b"]}


class EmittedEvents:
    """Stands in for the emitter: keeps what would be sent."""

    def __init__(self) -> None:
        self.events: list[UsageEvent] = []

    def emit(self, event: UsageEvent) -> UsageEvent:
        self.events.append(event)
        return event


def reservation() -> tuple[Reservation, EmittedEvents]:
    planned = planned_event("gemini-2.5-pro", {"unit": "tokens", "input_tokens": 8000, "output_tokens": 2000},
                            tenant_id="acme", session_id="s1", user_id="amira")
    emitted = EmittedEvents()
    return Reservation(emitted, client=None, planned=planned, reply=REPLY), emitted  # type: ignore[arg-type]


def test_settling_with_a_genai_response_emits_its_actual_usage_with_the_reservation_id():
    hold, emitted = reservation()
    response = types.GenerateContentResponse(
        model_version="gemini-2.5-pro",
        usage_metadata=types.GenerateContentResponseUsageMetadata(prompt_token_count=7000, candidates_token_count=900),
    )
    hold.settle(response)
    [event] = emitted.events
    assert (event.reservation_id, event.user_id, event.model) == ("rsv_1_abc", "amira", "gemini-2.5-pro")
    assert event.usage == TokenUsage(input_tokens=7000, output_tokens=900)


def test_settling_as_planned_emits_the_plan_as_a_new_event():
    hold, emitted = reservation()
    hold.settle()
    [event] = emitted.events
    assert event.usage == hold.planned.usage and event.event_id != hold.planned.event_id
    assert event.reservation_id == "rsv_1_abc"


def test_a_planned_call_takes_its_service_from_the_usage_unit():
    assert planned_event("veo-3.0-generate", {"unit": "video", "seconds": "8"}, tenant_id="t",
                         session_id="s").service.value == "video"
