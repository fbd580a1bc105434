"""Flattening a PricedUsage into one usage_events row (quantities and cost, for re-pricing)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from meterstream.schemas import CharacterUsage, ImageUsage, PricedUsage, TokenUsage, VideoUsage

COLUMNS = (
    "event_id", "occurred_at", "tenant_id", "session_id", "user_id", "service", "operation", "provider",
    "model", "billing_unit", "billing_mode", "input_tokens", "output_tokens", "cached_input_tokens",
    "thinking_tokens", "audio_input_tokens", "tool_use_prompt_tokens", "images", "video_seconds",
    "video_with_audio", "resolution", "characters", "voice_tier", "cost", "cost_lines", "currency",
    "catalog_version", "pricing_status", "unpriced_reason", "attributes", "source_partition", "source_offset",
    "priced_partition", "priced_offset",
)


def to_row(priced: PricedUsage, priced_partition: int = 0, priced_offset: int = 0) -> list[Any]:
    """One row; `priced_*` is the record's own position in usage.priced."""
    event = priced.event
    usage = event.usage
    tokens = usage if isinstance(usage, TokenUsage) else TokenUsage()
    video = usage if isinstance(usage, VideoUsage) else None
    source = priced.source
    return [
        event.event_id, event.occurred_at, event.tenant_id, event.session_id, event.user_id or "",
        event.service.value, event.operation, event.provider, event.model, usage.unit, event.billing_mode.value,
        tokens.input_tokens, tokens.output_tokens, tokens.cached_input_tokens, tokens.thinking_tokens,
        tokens.audio_input_tokens, tokens.tool_use_prompt_tokens,
        usage.images if isinstance(usage, ImageUsage) else 0,
        video.seconds if video else Decimal(0),
        video.with_audio if video else False,
        (video.resolution if video else getattr(usage, "resolution", None)) or "",
        usage.characters if isinstance(usage, CharacterUsage) else 0,
        (usage.voice_tier if isinstance(usage, CharacterUsage) else None) or "",
        priced.total_cost,
        {line.component: line.cost for line in priced.lines},
        priced.currency, priced.catalog_version, priced.status.value, priced.reason or "", dict(event.attributes),
        source.partition if source else 0, source.offset if source else 0,
        priced_partition, priced_offset,
    ]
