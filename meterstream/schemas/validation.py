"""Turning raw input into a UsageEvent, with errors that name the field and the reason."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from meterstream.errors import InvalidUsageEvent
from meterstream.schemas.usage import UsageEvent, unit_misfit


def field_errors(error: ValidationError) -> list[dict[str, str]]:
    """Flatten pydantic's errors into [{field, reason}] with dotted field paths."""
    return [
        {"field": ".".join(str(part) for part in item["loc"]) or "(event)", "reason": item["msg"]}
        for item in error.errors(include_url=False)
    ]


def parse_usage_event(data: bytes | str | dict[str, Any]) -> UsageEvent:
    """Validate JSON bytes, text or a dict as a UsageEvent; raise InvalidUsageEvent otherwise
    (a usage unit that does not fit the service included, named as `service`)."""
    try:
        event = UsageEvent.model_validate(data) if isinstance(data, dict) else UsageEvent.model_validate_json(data)
    except ValidationError as error:
        raise InvalidUsageEvent(field_errors(error)) from None
    misfit = unit_misfit(event.service, event.usage.unit)
    if misfit is not None:
        raise InvalidUsageEvent([{"field": "service", "reason": misfit}])
    return event
