"""Live per-session totals: the counter a session's user watches."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter

from meterstream.schemas.priced import PricedUsage, PricingStatus
from meterstream.schemas.usage import CharacterUsage, ImageUsage, TokenUsage, VideoUsage


class ServiceTotals(BaseModel):
    operations: int = 0
    cost: Decimal = Decimal(0)
    unpriced_operations: int = 0  # counted in `operations`, their cost unknown (not in `cost`)
    # What the unpriced operations used (tokens: input, output, thinking and tool use, as the tracker counts them)
    unpriced_tokens: int = 0
    unpriced_images: int = 0
    unpriced_video_seconds: Decimal = Decimal(0)
    unpriced_characters: int = 0
    models: list[str] = Field(default_factory=list)


class SessionTotals(BaseModel):
    """A session's totals. Each token count means what the usage event's field of that name
    means (TokenUsage), in every view: stats, summary, export, reports, the CLI and the
    tracker. `input_tokens` is the prompt (cached and audio included), `cached_input_tokens`
    the cached part of it, `output_tokens` excludes thinking, `thinking_tokens` and
    `tool_use_prompt_tokens` are counted apart. (Billing adds thinking to output and tool use
    to input: see the cost lines.)"""

    tenant_id: str
    session_id: str
    currency: str = "USD"
    total_cost: Decimal = Decimal(0)
    operations: int = 0
    unpriced_operations: int = 0
    unpriced_tokens: int = 0  # what the unpriced operations used, as in ServiceTotals
    unpriced_images: int = 0
    unpriced_video_seconds: Decimal = Decimal(0)
    unpriced_characters: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    thinking_tokens: int = 0
    tool_use_prompt_tokens: int = 0
    images: int = 0
    video_seconds: Decimal = Decimal(0)
    characters: int = 0
    by_service: dict[str, ServiceTotals] = Field(default_factory=dict)
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None


_when = TypeAdapter(datetime)


def unpriced_quantity(usage: object) -> tuple[str, int | Decimal]:
    """The `unpriced_*` count an operation's usage adds to when it is unpriced, and how much."""
    if isinstance(usage, TokenUsage):
        return "unpriced_tokens", (usage.input_tokens + usage.output_tokens + usage.thinking_tokens
                                   + usage.tool_use_prompt_tokens)
    if isinstance(usage, ImageUsage):
        return "unpriced_images", usage.images
    if isinstance(usage, VideoUsage):
        return "unpriced_video_seconds", usage.seconds
    if isinstance(usage, CharacterUsage):
        return "unpriced_characters", usage.characters
    raise TypeError(f"no unpriced count for {type(usage).__name__}")


def _plus(stored: int | str, amount: int | Decimal) -> int | str:
    """A stored count plus `amount`: seconds stay decimal text, the rest integers."""
    return str(Decimal(stored) + amount) if isinstance(amount, Decimal) else int(stored) + amount


def add_to_totals_json(totals: dict[str, Any], priced: PricedUsage) -> dict[str, Any]:
    """Count one more priced event in a session's totals, in the JSON form the worker's
    table stores (`SessionTotals.model_dump(mode="json")`), updated in place.

    Working on the stored form, not on the model: validating the stored totals into a
    model, copying it and dumping it back cost about 80 µs an event (py-spy, bench/).
    Money stays Decimal, parsed from and written back as text.
    """
    event = priced.event
    cost = priced.total_cost
    totals["operations"] += 1
    totals["total_cost"] = str(Decimal(totals["total_cost"]) + cost)
    unpriced = priced.status is PricingStatus.UNPRICED
    if unpriced:
        totals["unpriced_operations"] += 1
    usage = event.usage
    if isinstance(usage, TokenUsage):
        totals["input_tokens"] += usage.input_tokens
        totals["output_tokens"] += usage.output_tokens
        totals["cached_input_tokens"] += usage.cached_input_tokens
        totals["thinking_tokens"] += usage.thinking_tokens
        # totals stored before this count existed lack it
        totals["tool_use_prompt_tokens"] = totals.get("tool_use_prompt_tokens", 0) + usage.tool_use_prompt_tokens
    elif isinstance(usage, ImageUsage):
        totals["images"] += usage.images
    elif isinstance(usage, VideoUsage):
        totals["video_seconds"] = str(Decimal(totals["video_seconds"]) + usage.seconds)
    elif isinstance(usage, CharacterUsage):
        totals["characters"] += usage.characters
    service = totals["by_service"].setdefault(event.service.value, {"operations": 0, "cost": "0", "models": []})
    service["operations"] += 1
    service["cost"] = str(Decimal(service["cost"]) + cost)
    if unpriced:  # totals stored before these counts existed lack them
        service["unpriced_operations"] = service.get("unpriced_operations", 0) + 1
        field, amount = unpriced_quantity(usage)
        for counts in (totals, service):
            counts[field] = _plus(counts.get(field, 0), amount)
    if event.model not in service["models"]:
        service["models"].append(event.model)
    at = event.occurred_at
    first, last = totals["first_event_at"], totals["last_event_at"]
    if first is None or at < datetime.fromisoformat(first):
        totals["first_event_at"] = _when.dump_python(at, mode="json")
    if last is None or at > datetime.fromisoformat(last):
        totals["last_event_at"] = _when.dump_python(at, mode="json")
    return totals
