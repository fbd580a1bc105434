"""Pricing quantities summed over many stored events: one multiplication per group, not per event.

Stored usage is aggregated (in ClickHouse) by everything its price depends on: the model and
tenant (which pick the rate card), billing mode, unit, voice tier, resolution, audio flag,
the price period (which catalog version is in effect) and the prompt-size class (which
long-context tier applies). Every event of such a group is billed with the same unit prices,
so its cost is Σ over events of Σ over lines of round12(quantity × unit price).

Summing the quantities first is exact when no line ever needs rounding: a token, image or
character count is an integer, so quantity × price has no more places than the price; video
seconds are stored with 6 places (Decimal64(6)), so the product has at most 6 more. With a
unit price of at most 12 places (6 for video) every per-event product is already on the
12-place grid, round12 is the identity, and by linearity Σ(q × p) = (Σq) × p to the last
digit. Every list price, batch factor and percentage adjustment in the packaged catalogs
meets that; a finer price (a tenant's odd custom price) raises `Inexact`, and the caller
prices those events one by one instead (re-pricing) or leaves them out and counts them
(insights) — never approximately.

Used by re-pricing (meterstream/sinks/clickhouse/reprice.py) and the savings recommendations
(meterstream/insights/recommendations.py). No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from meterstream.pricing.engine import Pricer, variant_key, video_key
from meterstream.pricing.money import COST_PLACES, EXACT, ZERO, places

# The stored quantity columns, summed per group (the same names on UsageEvent rows and groups).
QUANTITIES = ("input_tokens", "cached_input_tokens", "audio_input_tokens", "cached_audio_input_tokens",
              "output_tokens", "image_output_tokens", "thinking_tokens", "tool_use_prompt_tokens", "images",
              "video_seconds", "characters")
VIDEO_SECONDS_PLACES = 6  # usage_events.video_seconds is Decimal64(6)


class Quantities(Protocol):
    """Summed stored quantities (a group's): the QUANTITIES, as attributes."""

    input_tokens: int
    cached_input_tokens: int
    audio_input_tokens: int
    cached_audio_input_tokens: int
    output_tokens: int
    image_output_tokens: int
    thinking_tokens: int
    tool_use_prompt_tokens: int
    images: int
    video_seconds: Decimal
    characters: int


@dataclass(frozen=True, slots=True)
class Sums:
    """Quantities summed over a group of stored events (a Quantities); the groups of re-pricing
    and of the recommendations extend it with their keys."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    audio_input_tokens: int = 0
    cached_audio_input_tokens: int = 0
    output_tokens: int = 0
    image_output_tokens: int = 0
    thinking_tokens: int = 0
    tool_use_prompt_tokens: int = 0
    images: int = 0
    video_seconds: Decimal = ZERO
    characters: int = 0


class Inexact(Exception):
    """A unit price fine enough that a per-event cost would round: summed quantities would not
    price exactly."""


def exact_places(unit: str) -> int:
    """The most decimal places a unit price may have for summed quantities of `unit` to price exactly."""
    return COST_PLACES - VIDEO_SECONDS_PLACES if unit == "video" else COST_PLACES


def exact_price(price: Decimal, unit: str) -> Decimal:
    if places(price) > exact_places(unit):
        raise Inexact(f"unit price {price} has more than {exact_places(unit)} places for {unit}")
    return price


def prices_exactly(prices: Mapping[str, Decimal], unit: str) -> bool:
    """Whether every price of `prices` can price summed quantities of `unit` exactly."""
    limit = exact_places(unit)
    return all(places(price) <= limit for price in prices.values())


def token_parts(q: Quantities) -> tuple[tuple[int, str], ...]:
    """(billed quantity, component) per token component, as the engine splits a prompt: uncached
    text and tool-use prompt at input, uncached audio, cached text, cached audio, output with
    thinking (minus image output), image output."""
    cached_audio = q.cached_audio_input_tokens
    uncached_audio = q.audio_input_tokens - cached_audio
    text = q.input_tokens - q.cached_input_tokens - uncached_audio
    return (
        (text + q.tool_use_prompt_tokens, "input"), (uncached_audio, "audio_input"),
        (q.cached_input_tokens - cached_audio, "cached_input"), (cached_audio, "cached_audio_input"),
        (q.output_tokens - q.image_output_tokens + q.thinking_tokens, "output"),
        (q.image_output_tokens, "image_output"),
    )


def media_key(table: Mapping[str, Decimal], unit: str, resolution: str | None, with_audio: bool) -> str | None:
    """The priced component of image, video or character usage, as the engine picks it (None: unpriced)."""
    if unit == "images":
        return variant_key(table, ("image",), resolution)
    if unit == "video":
        return video_key(table, with_audio, resolution)
    if unit == "characters":
        return "character" if "character" in table else None
    return None


def group_cost(table: Mapping[str, Decimal], unit: str, q: Quantities, resolution: str | None = None,
               with_audio: bool = False) -> Decimal | None:
    """The exact cost of summed quantities `q` of `unit` at the unit prices `table`; None when
    the table prices no component of that media usage. Raises Inexact (see the module doc)."""
    if unit == "tokens":  # a component the table lacks costs 0, as a missing map key in the SQL
        return sum((EXACT.multiply(Decimal(quantity), exact_price(table.get(name, ZERO), unit))
                    for quantity, name in token_parts(q) if quantity), ZERO)
    key = media_key(table, unit, resolution, with_audio)
    if key is None:
        return None
    quantity = q.video_seconds if unit == "video" else Decimal(q.images if unit == "images" else q.characters)
    return EXACT.multiply(quantity, exact_price(table[key], unit))


@dataclass(frozen=True)
class PriceShape:
    """Where prices can change for any model and tenant: every long-context threshold (ascending)
    and every instant a catalog version starts or ends (ascending). Groups split on these, so
    no group spans a price change."""

    thresholds: tuple[int, ...]
    boundaries: tuple[datetime, ...]

    def is_long(self, threshold: int | None, prompt_class: int) -> bool:
        """Whether a group of `prompt_class` (how many thresholds its prompts exceed) is above `threshold`."""
        return threshold in self.thresholds and prompt_class > self.thresholds.index(threshold)

    def period_start(self, price_period: int) -> datetime | None:
        """An instant of price period `price_period` (how many boundaries are at or before it): its
        first; None before the first boundary, where no version is in effect."""
        return self.boundaries[price_period - 1] if price_period else None


def price_shape(pricer: Pricer, *extra_boundaries: datetime) -> PriceShape:
    """The PriceShape of `pricer`'s catalog (tenant adjustments change prices, never versions)."""
    thresholds, boundaries = set(), set(extra_boundaries)
    for versions in pricer._index.versions.values():  # noqa: SLF001 - the Pricer's own compiled catalog
        for version in versions:
            boundaries.add(version.start)
            if version.end is not None:
                boundaries.add(version.end)
            if version.card.threshold is not None:
                thresholds.add(version.card.threshold)
    return PriceShape(tuple(sorted(thresholds)), tuple(sorted(boundaries)))
