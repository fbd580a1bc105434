"""The original tracker's shapes, translated to and from meterstream's. Pure: no I/O.

Apps built on the original in-process tracker call
`usage_tracker.record_usage(session_id=..., model_name=..., service_type=..., operation_type=..., <usage>)`
and their front ends read `UsageStats` and `SessionSummary`. This module turns such a call
into a usage event, and live totals or stored rows into those shapes.

Money: the old shapes' money fields are numbers (`total_cost`, `cost`, `total_cost_usd`), so
there the exact decimal is written as a JSON number, digit for digit (`0.000001496`, never
through a float: `render`). Fields the old shapes do not define (the estimate, an export's
operations) keep meterstream's rule: a decimal string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from meterstream.errors import InvalidUsageEvent
from meterstream.pricing.money import money_text
from meterstream.schemas import SessionTotals

# The old usage fields, by meterstream unit; the first name of each group is meterstream's own.
TOKEN_FIELDS = {"input_tokens": "input_tokens", "output_tokens": "output_tokens",
                "cached_input_tokens": "cached_input_tokens", "thinking_tokens": "thinking_tokens",
                "prompt_tokens": "input_tokens", "completion_tokens": "output_tokens"}
IMAGE_FIELDS = {"images": "images", "number_of_images": "images", "image_count": "images", "num_images": "images"}
VIDEO_FIELDS = {"seconds": "seconds", "duration_seconds": "seconds", "video_seconds": "seconds",
                "duration": "seconds", "with_audio": "with_audio", "resolution": "resolution"}
CHARACTER_FIELDS = {"characters": "characters", "character_count": "characters", "text_length": "characters",
                    "voice_tier": "voice_tier"}
UNITS = {"tokens": TOKEN_FIELDS, "images": IMAGE_FIELDS, "video": VIDEO_FIELDS, "characters": CHARACTER_FIELDS}

# Fields of an event the old call may name as they are.
PASSED = ("tenant_id", "user_id", "event_id", "occurred_at", "billing_mode", "provider", "reservation_id")

# The old service types meterstream calls otherwise.
SERVICE_ALIASES = {"tts": "speech", "text_to_speech": "speech", "text-to-speech": "speech", "voice": "speech",
                   "audio_generation": "audio", "image_generation": "image", "video_generation": "video",
                   "text_generation": "text", "chat": "text"}

MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_TEXT = 256


def usage_of(service_type: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The meterstream usage of the old call's usage fields (one unit's fields, not several)."""
    found = {unit: {ours: fields[name] for name, ours in names.items() if name in fields}
             for unit, names in UNITS.items()}
    units = [unit for unit, values in found.items() if values and set(values) - {"with_audio", "resolution",
                                                                                  "voice_tier"}]
    if len(units) > 1:
        raise InvalidUsageEvent([{"field": "usage", "reason": f"fields of several units at once ({', '.join(units)}): "
                                                             "one call records one unit"}])
    if not units:
        if service_type == "image":  # the original tracker charged one image for an image call with no count
            return {"unit": "images", "images": 1}
        raise InvalidUsageEvent([{"field": "usage", "reason": "no usage fields: give input_tokens/output_tokens, "
                                                             "number_of_images, duration_seconds or character_count"}])
    return {"unit": units[0], **found[units[0]]}


def event_of(session_id: str, model_name: str, service_type: str, operation_type: str | None,
             fields: Mapping[str, Any]) -> dict[str, Any]:
    """The usage event (a dict for parse_usage_event, tenant not set unless named) of one old call.

    Fields the old call carries that meterstream has no place for become attributes (as text)."""
    wrong = [{"field": name, "reason": "must be a string"} for name, value in
             (("session_id", session_id), ("model_name", model_name), ("service_type", service_type))
             if not isinstance(value, str)]
    if operation_type is not None and not isinstance(operation_type, str):
        wrong.append({"field": "operation_type", "reason": "must be a string"})
    if not isinstance(fields.get("attributes") or {}, Mapping):
        wrong.append({"field": "attributes", "reason": "must be an object of strings"})
    if wrong:
        raise InvalidUsageEvent(wrong)
    service = SERVICE_ALIASES.get(service_type, service_type)
    usage_names = {name for names in UNITS.values() for name in names}
    event: dict[str, Any] = {"session_id": session_id, "model": model_name, "service": service,
                             "usage": usage_of(service, fields)}
    if operation_type:
        event["operation"] = operation_type
    attributes = dict(fields.get("attributes") or {})
    for name, value in fields.items():
        if name in PASSED:
            if value is not None:
                event[name] = value
        elif name not in usage_names and name != "attributes" and value is not None:
            attributes[name] = value if isinstance(value, str) else json.dumps(value, default=str)
    if attributes:
        event["attributes"] = {key: text[:MAX_ATTRIBUTE_TEXT] for key, text in
                               list(attributes.items())[:MAX_ATTRIBUTES]}
    return event


def usage_stats(session_id: str, active: bool, totals: SessionTotals | None) -> dict[str, Any]:
    """`UsageStats {session_active, session_id, total_cost, total_operations, services_breakdown}`."""
    breakdown = {} if totals is None else {
        service: {"operations": part.operations, "cost": part.cost, "models": sorted(part.models)}
        for service, part in sorted(totals.by_service.items())
    }
    return {"session_active": active, "session_id": session_id,
            "total_cost": totals.total_cost if totals else Decimal(0),
            "total_operations": totals.operations if totals else 0, "services_breakdown": breakdown}


def session_summary(session_id: str, start: datetime | None, end: datetime | None,
                    services: list[Mapping[str, Any]]) -> dict[str, Any]:
    """`SessionSummary {session_id, start_time, end_time, total_operations, total_cost_usd, services_used[],
    models_used[]}` from the session's stored rows per service (ClickHouse)."""
    return {"session_id": session_id,
            "start_time": start.isoformat() if start else None,
            "end_time": end.isoformat() if end else None,
            "total_operations": sum(int(row["operations"]) for row in services),
            "total_cost_usd": sum((Decimal(row["cost"]) for row in services), Decimal(0)),
            "services_used": sorted({str(row["service"]) for row in services}),
            "models_used": sorted({model for row in services for model in row["models"]})}


def render(value: Any) -> bytes:
    """JSON text in which every Decimal is an exact JSON number (its digits, no float, no exponent)."""
    return _render(value).encode()


def _render(value: Any) -> str:
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=str)
