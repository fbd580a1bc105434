"""Flattening priced records into usage_events rows and columns (quantities and cost, for re-pricing)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from meterstream.schemas import CharacterUsage, ImageUsage, PricedUsage, TokenUsage, VideoUsage
from meterstream.sinks.base import SinkRecord

# Column names and their ClickHouse types, in the table's order (migrations 1, 2, 5 and 8). Giving the types
# spares clickhouse-connect a DESCRIBE of the table before every insert.
COLUMN_TYPES: tuple[tuple[str, str], ...] = (
    ("event_id", "UUID"),
    ("occurred_at", "DateTime64(6, 'UTC')"),
    ("tenant_id", "LowCardinality(String)"),
    ("session_id", "String"),
    ("user_id", "String"),
    ("service", "LowCardinality(String)"),
    ("operation", "LowCardinality(String)"),
    ("provider", "LowCardinality(String)"),
    ("model", "LowCardinality(String)"),
    ("billing_unit", "LowCardinality(String)"),
    ("billing_mode", "LowCardinality(String)"),
    ("input_tokens", "UInt64"),
    ("output_tokens", "UInt64"),
    ("cached_input_tokens", "UInt64"),
    ("thinking_tokens", "UInt64"),
    ("audio_input_tokens", "UInt64"),
    ("tool_use_prompt_tokens", "UInt64"),
    ("images", "UInt64"),
    ("video_seconds", "Decimal(18, 6)"),
    ("video_with_audio", "Bool"),
    ("resolution", "LowCardinality(String)"),
    ("characters", "UInt64"),
    ("voice_tier", "LowCardinality(String)"),
    ("cost", "Decimal(38, 12)"),
    ("cost_lines", "Map(String, Decimal(38, 12))"),
    ("currency", "LowCardinality(String)"),
    ("catalog_version", "LowCardinality(String)"),
    ("pricing_status", "LowCardinality(String)"),
    ("unpriced_reason", "String"),
    ("attributes", "Map(String, String)"),
    ("source_partition", "UInt32"),
    ("source_offset", "UInt64"),
    ("priced_partition", "UInt32"),
    ("priced_offset", "UInt64"),
    ("line_quantities", "Map(String, Decimal(38, 12))"),
    ("line_unit_prices", "Map(String, String)"),
    ("tenant_pricing", "LowCardinality(String)"),
    ("cached_audio_input_tokens", "UInt64"),
    ("image_output_tokens", "UInt64"),
)
COLUMNS = tuple(name for name, _ in COLUMN_TYPES)
TYPE_NAMES = tuple(type_name for _, type_name in COLUMN_TYPES)

_NO_TOKENS = TokenUsage()
_ZERO = Decimal(0)


def to_row(priced: PricedUsage, priced_partition: int = 0, priced_offset: int = 0) -> list[Any]:
    """One row; `priced_*` is the record's own position in usage.priced."""
    event = priced.event
    usage = event.usage
    tokens = usage if isinstance(usage, TokenUsage) else _NO_TOKENS
    images = resolution = characters = voice_tier = None
    seconds, with_audio = _ZERO, False
    if isinstance(usage, VideoUsage):
        seconds, with_audio, resolution = usage.seconds, usage.with_audio, usage.resolution
    elif isinstance(usage, ImageUsage):
        images, resolution = usage.images, usage.resolution
    elif isinstance(usage, CharacterUsage):
        characters, voice_tier = usage.characters, usage.voice_tier
    source = priced.source
    return [
        event.event_id, event.occurred_at, event.tenant_id, event.session_id, event.user_id or "",
        event.service.value, event.operation, event.provider, event.model, usage.unit, event.billing_mode.value,
        tokens.input_tokens, tokens.output_tokens, tokens.cached_input_tokens, tokens.thinking_tokens,
        tokens.audio_input_tokens, tokens.tool_use_prompt_tokens,
        images or 0, seconds, with_audio, resolution or "", characters or 0, voice_tier or "",
        priced.total_cost,
        {line.component: line.cost for line in priced.lines},
        priced.currency, priced.catalog_version, priced.status.value, priced.reason or "", dict(event.attributes),
        source.partition if source else 0, source.offset if source else 0,
        priced_partition, priced_offset,
        {line.component: line.quantity for line in priced.lines},
        {line.component: format(line.unit_price, "f") for line in priced.lines},
        priced.tenant_pricing or "",
        tokens.cached_audio_input_tokens, tokens.image_output_tokens,
    ]


def to_columns(records: Sequence[SinkRecord]) -> list[list[Any]]:
    """The records as one list per column, in COLUMNS order (a column-oriented insert)."""
    return [list(column) for column in zip(*(to_row(r.priced, r.partition, r.offset) for r in records))]
