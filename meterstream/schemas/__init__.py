"""pydantic v2 models that form meterstream's wire contract."""

from meterstream.schemas.priced import CostLine, PricedUsage, PricingStatus, SourcePosition
from meterstream.schemas.totals import ServiceTotals, SessionTotals, add_to_totals_json
from meterstream.schemas.usage import (
    SCHEMA_VERSION,
    BillingMode,
    CharacterUsage,
    ImageUsage,
    Service,
    TokenUsage,
    Usage,
    UsageEvent,
    VideoUsage,
    content_fingerprint,
)
from meterstream.schemas.validation import field_errors, parse_usage_event

__all__ = [
    "SCHEMA_VERSION",
    "BillingMode",
    "CharacterUsage",
    "CostLine",
    "ImageUsage",
    "PricedUsage",
    "PricingStatus",
    "Service",
    "ServiceTotals",
    "SessionTotals",
    "SourcePosition",
    "TokenUsage",
    "Usage",
    "UsageEvent",
    "VideoUsage",
    "add_to_totals_json",
    "content_fingerprint",
    "field_errors",
    "parse_usage_event",
]
