"""Pure cost functions: a UsageEvent and a Catalog in, a PricedUsage out. No I/O."""

from __future__ import annotations

from decimal import Decimal

from meterstream.pricing.catalog import Catalog, PriceEntry
from meterstream.schemas import (
    BillingMode,
    CharacterUsage,
    CostLine,
    ImageUsage,
    PricedUsage,
    PricingStatus,
    TokenUsage,
    UsageEvent,
    VideoUsage,
)


class UnpricedComponent(Exception):
    """The catalog entry has no price for a component the event used."""


def _line(entry: PriceEntry, component: str, quantity: Decimal | int, unit: str, free: bool) -> CostLine:
    unit_price = entry.unit_price(component)
    if unit_price is None:
        raise UnpricedComponent(f"{entry.model} has no '{component}' price")
    if free:
        unit_price = Decimal(0)
    quantity = Decimal(quantity)
    return CostLine(component=component, quantity=quantity, unit=unit, unit_price=unit_price, cost=quantity * unit_price)


def _token_lines(entry: PriceEntry, usage: TokenUsage, free: bool) -> list[CostLine]:
    cached = usage.cached_input_tokens
    audio = usage.audio_input_tokens
    text_input = usage.input_tokens - cached - audio + usage.tool_use_prompt_tokens
    wanted = [
        ("input", text_input),
        ("audio_input", audio),
        ("cached_input", cached),
        ("output", usage.output_tokens + usage.thinking_tokens),
    ]
    return [_line(entry, name, qty, "token", free) for name, qty in wanted if qty]


def _lines(entry: PriceEntry, event: UsageEvent) -> list[CostLine]:
    free = event.billing_mode is BillingMode.FREE
    usage = event.usage
    if isinstance(usage, TokenUsage):
        return _token_lines(entry, usage, free)
    if isinstance(usage, ImageUsage):
        return [_line(entry, "image", usage.images, "image", free)]
    if isinstance(usage, VideoUsage):
        component = "second_with_audio" if usage.with_audio else "second"
        return [_line(entry, component, usage.seconds, "second", free)]
    if isinstance(usage, CharacterUsage):
        return [_line(entry, "character", usage.characters, "character", free)]
    raise UnpricedComponent(f"unknown billing unit {usage.unit}")


def price_event(catalog: Catalog, event: UsageEvent) -> PricedUsage:
    """Price one event with the entry in effect at its `occurred_at`; never a silent zero."""
    entry = catalog.entry_for(event.model, event.occurred_at)
    reason = None
    if entry is None:
        reason = f"model '{event.model}' is not in catalog {catalog.version} at {event.occurred_at:%Y-%m-%d}"
    elif entry.unit != event.usage.unit:
        reason = f"model '{event.model}' is billed in {entry.unit}, the event reports {event.usage.unit}"
    else:
        try:
            lines = _lines(entry, event)
        except UnpricedComponent as error:
            reason = str(error)
    if reason is not None:
        return PricedUsage(
            event=event, status=PricingStatus.UNPRICED, catalog_version=catalog.version,
            currency=catalog.currency, reason=reason,
        )
    if event.billing_mode is BillingMode.BATCH:
        lines = [line.model_copy(update={"unit_price": line.unit_price / 2, "cost": line.cost / 2}) for line in lines]
    total = sum((line.cost for line in lines), Decimal(0))
    return PricedUsage(
        event=event, status=PricingStatus.PRICED, lines=tuple(lines), total_cost=total,
        catalog_version=catalog.version, currency=catalog.currency,
    )
