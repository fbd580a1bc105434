"""Rate cards: a catalog entry compiled into unit prices for each billing mode and tier.

An entry lists prices the way the provider publishes them (per 1M tokens, standard mode).
A rate card holds, for every (billing mode, long-context?) pair the entry supports, the
price of one unit of every component, with these rules applied once, at load time:

- batch mode: `batch_factor` × the standard price, except cache components (unchanged);
  no `batch_factor` means the model has no batch mode (such events are unpriced);
- free tier: every price 0; an entry without `free_tier` has no free mode (unpriced);
- long context: the entry's long-context prices replace the standard ones for the whole
  request; components the tier does not list keep their standard price;
- fallbacks for token components the provider does not price separately: audio input at
  the input price, cached input at the input price (no cache price published), cached audio
  at the cached price (or the audio price when there is no cache price), image output at
  the output price;
- a tenant's percentage adjustment scales list prices; its custom prices replace list
  prices (in every tier) and are not adjusted again; batch and free rules still apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from meterstream.pricing.entry import CACHE_COMPONENTS, TOKEN_COMPONENTS, PriceEntry
from meterstream.pricing.money import COST_PLACES, EXACT, ZERO, places
from meterstream.schemas import BillingMode

STANDARD, BATCH, FREE = BillingMode.STANDARD, BillingMode.BATCH, BillingMode.FREE


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A tenant's changes to list prices: a percentage (negative = discount) and custom prices."""

    label: str
    percent: Decimal = ZERO
    custom_prices: Mapping[str, Decimal] = field(default_factory=dict)

    def describe(self) -> tuple[str, ...]:
        words = []
        if self.percent:
            kind = "discount" if self.percent < 0 else "markup"
            words.append(f"{self.label}: {abs(self.percent)}% {kind} on list prices")
        if self.custom_prices:
            words.append(f"{self.label}: custom prices for {', '.join(sorted(self.custom_prices))}")
        return tuple(words)


@dataclass(frozen=True, slots=True)
class RateCard:
    entry: PriceEntry
    unit: str  # entry.unit and entry.effective_from, copied: the engine reads them for every event
    effective_from: date
    # (billing mode, long context) -> component -> price of one unit
    tables: Mapping[tuple[BillingMode, bool], Mapping[str, Decimal]]
    threshold: int | None
    # words explaining each mode's rules, shared by every event priced with this card
    mode_rules: Mapping[BillingMode, tuple[str, ...]]
    # token entries: per table, (component, unit price, whether the price has more than 12
    # decimal places) in TOKEN_COMPONENTS order; only such a price can give a cost to round
    token_rates: Mapping[tuple[BillingMode, bool], tuple[tuple[str, Decimal, bool], ...]]


def _token_fallbacks(prices: dict[str, Decimal]) -> dict[str, Decimal]:
    cache_published = "cached_input" in prices
    prices.setdefault("audio_input", prices["input"])
    prices.setdefault("cached_input", prices["input"])
    prices.setdefault("cached_audio_input", prices["cached_input"] if cache_published else prices["audio_input"])
    prices.setdefault("image_output", prices["output"])
    return prices


def _percent(value: Decimal, percent: Decimal) -> Decimal:
    return EXACT.multiply(value, EXACT.add(Decimal(1), EXACT.divide(percent, Decimal(100))))


def build_rate_card(entry: PriceEntry, adjustment: Adjustment | None = None) -> RateCard:
    """Compile `entry` (optionally with a tenant's adjustment) into per-unit prices."""
    tiers = (False, True) if entry.long_context else (False,)
    modes = [STANDARD] + ([BATCH] if entry.batch_factor is not None else []) + ([FREE] if entry.free_tier else [])
    per = Decimal(entry.per)
    tables: dict[tuple[BillingMode, bool], dict[str, Decimal]] = {}
    for long in tiers:
        listed = dict(entry.prices)
        if long and entry.long_context is not None:
            listed.update(entry.long_context.prices)
        if adjustment is not None:
            if adjustment.percent:
                listed = {name: _percent(price, adjustment.percent) for name, price in listed.items()}
            listed.update(adjustment.custom_prices)
        for mode in modes:
            if mode is BATCH:
                factor = entry.batch_factor
                assert factor is not None
                prices = {
                    name: price if name.split("@", 1)[0] in CACHE_COMPONENTS else EXACT.multiply(price, factor)
                    for name, price in listed.items()
                }
            elif mode is FREE:
                prices = dict.fromkeys(listed, ZERO)
            else:
                prices = dict(listed)
            prices = {name: EXACT.divide(price, per) for name, price in prices.items()}
            tables[(mode, long)] = _token_fallbacks(prices) if entry.unit == "tokens" else prices
    extra = adjustment.describe() if adjustment is not None else ()
    mode_rules = {
        STANDARD: extra,
        BATCH: (f"batch mode: {entry.batch_factor} × standard prices, cache prices unchanged", *extra),
        FREE: ("free tier: quantities counted at no cost",),
    }
    threshold = entry.long_context.above_tokens if entry.long_context else None
    token_rates = {key: tuple((name, table[name], places(table[name]) > COST_PLACES) for name in TOKEN_COMPONENTS)
                   for key, table in tables.items()} if entry.unit == "tokens" else {}
    return RateCard(entry=entry, unit=entry.unit, effective_from=entry.effective_from, tables=tables,
                    threshold=threshold, mode_rules=mode_rules, token_rates=token_rates)
