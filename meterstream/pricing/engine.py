"""Pure cost functions: a UsageEvent in, a PricedUsage out. No I/O.

The billing rules, each applied here or compiled into rate cards (rates.py):

- tokens: the prompt count includes cached and audio tokens. Uncached text input =
  prompt − cached − uncached audio, plus tool-use prompt tokens, at the input rate;
  uncached audio at the audio rate; cached tokens at the cache rate (cached audio at the
  cached-audio rate); output = candidates + thinking tokens at the output rate (native
  image output tokens at the image-output rate).
- long context: when the prompt (input + tool-use prompt tokens) exceeds the model's
  threshold (200,000 for Gemini 2.5 Pro), the whole request (input, output and cache)
  is billed at the long-context prices. Exactly 200,000 stays at the standard prices.
- images: per image returned; video: per second, by resolution and audio;
  characters: per character, by Cloud TTS voice tier (the tier picks the entry).
- batch and free modes, tenant adjustments: see rates.py.
- the price version is the one in effect at the event's `occurred_at`.
- each line's cost is exact, rounded half-to-even to 12 decimal places only where it has
  more; the total is the exact sum of the lines.
- an event that cannot be priced is UNPRICED with a reason, never a silent zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterstream.pricing.catalog import Catalog, Version
from meterstream.pricing.entry import COMPONENTS, LINE_UNITS
from meterstream.pricing.errors import CatalogError, UnknownModelRejected
from meterstream.pricing.money import EXACT, ZERO, line_cost
from meterstream.pricing.names import normalize_resolution
from meterstream.pricing.rates import Adjustment, RateCard, build_rate_card
from meterstream.pricing.tenants import UNLISTED, TenantBook, TenantPricing, UnknownModelPolicy
from meterstream.pricing.trusted import trusted
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

_PRICED = PricingStatus.PRICED
_INT_DECIMALS = tuple(Decimal(n) for n in range(4096))
_add = EXACT.add
Lines = tuple[tuple[CostLine, ...], Decimal]


class _Unpriceable(Exception):
    """The event cannot be priced with this entry; the message says why."""


def _mode_table(card: RateCard, mode: BillingMode, long: bool) -> tuple[Mapping[str, Decimal], frozenset[str]]:
    key = (mode, long)
    table = card.tables.get(key)
    if table is None:
        kind = "tier" if mode is BillingMode.FREE else "mode"
        raise _Unpriceable(f"{card.entry.model} has no {mode.value} {kind} in this catalog")
    return table, card.fine_prices[key]


def _priced_lines(quantities: tuple[tuple[str, int | Decimal], ...], unit: str, table: Mapping[str, Decimal],
                  fine: frozenset[str]) -> Lines:
    """One CostLine per non-zero quantity, and their exact total."""
    lines = []
    total = ZERO
    for component, quantity in quantities:
        if not quantity:
            continue
        unit_price = table[component]
        if type(quantity) is int:
            amount = _INT_DECIMALS[quantity] if quantity < 4096 else Decimal(quantity)
            cost = line_cost(amount, unit_price, may_round=component in fine)
        else:  # a fractional quantity (seconds): the product may have more places
            amount = quantity
            cost = line_cost(amount, unit_price)
        total = _add(total, cost)
        lines.append(trusted(CostLine, {"component": component, "quantity": amount, "unit": unit,
                                        "unit_price": unit_price, "cost": cost}))
    return tuple(lines), total


def token_quantities(usage: TokenUsage) -> tuple[tuple[str, int], ...]:
    """The billed token quantities by component (see the module docstring)."""
    cached = usage.cached_input_tokens
    cached_audio = usage.cached_audio_input_tokens
    uncached_audio = usage.audio_input_tokens - cached_audio
    text = usage.input_tokens - cached - uncached_audio
    if text < 0:
        raise _Unpriceable(f"inconsistent token counts: cached ({cached}) plus uncached audio ({uncached_audio}) "
                           f"exceed the prompt ({usage.input_tokens})")
    image_output = usage.image_output_tokens
    return (
        ("input", text + usage.tool_use_prompt_tokens),
        ("audio_input", uncached_audio),
        ("cached_input", cached - cached_audio),
        ("cached_audio_input", cached_audio),
        ("output", usage.output_tokens - image_output + usage.thinking_tokens),
        ("image_output", image_output),
    )


def _token_lines(card: RateCard, mode: BillingMode, usage: TokenUsage, rules: list[str]) -> Lines:
    threshold = card.threshold
    long = False
    if threshold is not None:
        prompt = usage.input_tokens + usage.tool_use_prompt_tokens
        if prompt > threshold:
            long = True
            rules.append(f"prompt of {prompt:,} tokens > {threshold:,}: long-context prices for the whole request")
    table, fine = _mode_table(card, mode, long)
    return _priced_lines(token_quantities(usage), "token", table, fine)


def variant_key(table: Mapping[str, Decimal], bases: tuple[str, ...], resolution: str | None) -> str | None:
    """The first priced component among `base@resolution`, `base` for each base in order."""
    for base in bases:
        if resolution is not None and f"{base}@{resolution}" in table:
            return f"{base}@{resolution}"
        if base in table:
            return base
    return None


def video_bases(with_audio: bool) -> tuple[str, ...]:
    # A model priced only per "second" bills video the same with or without audio.
    return ("second_with_audio", "second") if with_audio else ("second",)


def _media_lines(card: RateCard, mode: BillingMode, usage: ImageUsage | VideoUsage | CharacterUsage) -> Lines:
    table, fine = _mode_table(card, mode, False)
    quantity: int | Decimal
    if isinstance(usage, ImageUsage):
        key, quantity = variant_key(table, ("image",), normalize_resolution(usage.resolution)), usage.images
    elif isinstance(usage, VideoUsage):
        key = variant_key(table, video_bases(usage.with_audio), normalize_resolution(usage.resolution))
        quantity = usage.seconds
        if key is None:
            audio = "with" if usage.with_audio else "without"
            raise _Unpriceable(f"{card.entry.model} has no price for video {audio} audio at {usage.resolution}")
    else:
        key, quantity = "character", usage.characters
    if key is None:
        raise _Unpriceable(f"{card.entry.model} has no '{LINE_UNITS[usage.unit]}' price")
    return _priced_lines(((key, quantity),), LINE_UNITS[usage.unit], table, fine)


@dataclass(frozen=True, slots=True)
class _TenantRules:
    """One tenant's pricing, checked against the catalog and keyed by canonical model names."""

    label: str
    percent: Decimal
    custom: Mapping[str, Mapping[str, Decimal]]
    policy: UnknownModelPolicy
    fallbacks: Mapping[str, str]  # billing unit -> canonical fallback model


class Pricer:
    """Prices events with a catalog and the tenants' pricing. Pure: no I/O, deterministic.

    `price()` raises UnknownModelRejected when the tenant's policy rejects an unknown model
    (the stream dead-letters such events); every other problem yields an UNPRICED record.
    """

    def __init__(self, catalog: Catalog, tenants: TenantBook | None = None) -> None:
        self.catalog = catalog
        self.tenants = tenants or TenantBook()
        self._index = catalog.index
        self._currency = catalog.currency
        self._version = catalog.version
        self._cards: dict[tuple[str, str, datetime], RateCard] = {}
        problems: list[str] = []
        self._rules = {tenant_id: self._compile(tenant_id, pricing, problems)
                       for tenant_id, pricing in self.tenants.items()}
        if problems:
            raise CatalogError(f"tenant pricing does not fit catalog {catalog.version}: " + "; ".join(problems))
        self._default = self._rules.pop(UNLISTED)

    def _unit_of(self, model: str, what: str, tenant: str, problems: list[str]) -> tuple[str, str] | None:
        canonical = self._index.resolve(model)
        if canonical is None:
            problems.append(f"{tenant}: {what} '{model}' is not in the catalog")
            return None
        return canonical, self._index.versions[canonical][0].entry.unit

    def _compile(self, tenant_id: str, pricing: TenantPricing, problems: list[str]) -> _TenantRules:
        label = "default tenant pricing" if tenant_id == UNLISTED else f"tenant {tenant_id}"
        custom: dict[str, Mapping[str, Decimal]] = {}
        for model, prices in pricing.custom_prices.items():
            found = self._unit_of(model, "custom-priced model", label, problems)
            if found is None:
                continue
            canonical, unit = found
            for component, price in prices.items():
                if component.split("@", 1)[0] not in COMPONENTS[unit] or price < 0:
                    problems.append(f"{label}: '{component}' = {price} is not a valid {unit} price for {model}")
            custom[canonical] = dict(prices)
        fallbacks: dict[str, str] = {}
        for model in pricing.fallback_models:
            found = self._unit_of(model, "fallback model", label, problems)
            if found is not None:
                canonical, unit = found
                if unit in fallbacks:
                    problems.append(f"{label}: two fallback models bill {unit}")
                fallbacks[unit] = canonical
        if pricing.unknown_model is UnknownModelPolicy.FALLBACK and not pricing.fallback_models:
            problems.append(f"{label}: policy 'fallback' needs fallback_models")
        return _TenantRules(label, pricing.adjustment_percent, custom, pricing.unknown_model, fallbacks)

    def _card(self, tenant: _TenantRules, canonical: str, version: Version) -> RateCard:
        """The version's rate card with the tenant's adjustments (memoised)."""
        custom = tenant.custom.get(canonical)
        if not tenant.percent and not custom:
            return version.card
        key = (tenant.label, canonical, version.start)
        card = self._cards.get(key)
        if card is None:
            card = self._cards[key] = build_rate_card(version.entry, Adjustment(tenant.label, tenant.percent,
                                                                                custom or {}))
        return card

    def price(self, event: UsageEvent) -> PricedUsage:
        """Price one event with the prices in effect at its `occurred_at`."""
        index = self._index
        usage = event.usage
        tenant = self._rules.get(event.tenant_id, self._default)
        canonical = index.resolve(event.model, usage.voice_tier if usage.unit == "characters" else None)
        rules: list[str] = []
        if canonical is None:
            canonical = self._unknown_model(event.model, event.tenant_id, usage.unit, tenant, rules)
            if canonical is None:
                return self._unpriced(event, f"model '{event.model}' is not in catalog {self.catalog.version}")
        version = index.lookup(canonical, event.occurred_at)
        if version is None:
            return self._unpriced(event, f"'{canonical}' has no price in catalog {self.catalog.version} "
                                         f"at {event.occurred_at:%Y-%m-%d %H:%M}Z")
        card = self._card(tenant, canonical, version)
        if card.entry.unit != usage.unit:
            return self._unpriced(event, f"'{canonical}' is billed in {card.entry.unit}, the event reports {usage.unit}")
        try:
            if usage.unit == "tokens":
                lines, total = _token_lines(card, event.billing_mode, usage, rules)  # type: ignore[arg-type]
            else:
                lines, total = _media_lines(card, event.billing_mode, usage)  # type: ignore[arg-type]
        except _Unpriceable as problem:
            return self._unpriced(event, str(problem))
        mode_rules = card.mode_rules[event.billing_mode]
        return trusted(PricedUsage, {
            "event": event, "status": _PRICED, "lines": lines, "total_cost": total, "currency": self._currency,
            "catalog_version": self._version, "reason": None, "source": None, "replayed": False,
            "priced_as": canonical, "price_effective_from": card.entry.effective_from,
            "rules": (*rules, *mode_rules) if rules else mode_rules,
        })

    def _unknown_model(self, model: str, tenant_id: str, unit: str, tenant: _TenantRules,
                       rules: list[str]) -> str | None:
        """The fallback for a model the catalog does not know, per the tenant's policy (None: unpriced)."""
        if tenant.policy is UnknownModelPolicy.REJECT:
            raise UnknownModelRejected(model, tenant_id, self._version)
        if tenant.policy is UnknownModelPolicy.FALLBACK:
            fallback = tenant.fallbacks.get(unit)
            if fallback is not None:
                rules.append(f"model '{model}' is not in the catalog: priced as {fallback} "
                             f"({tenant.label}: fallback policy)")
            return fallback
        return None

    # -- what re-pricing needs: the same decisions, for stored rows instead of events ------------

    def resolve_for(self, tenant_id: str, model: str, unit: str, voice_tier: str | None = None) -> str | None:
        """The canonical model whose prices apply to `model` for `tenant_id` (alias or fallback).

        None when the usage would be unpriced or rejected.
        """
        canonical = self._index.resolve(model, voice_tier if unit == "characters" else None)
        if canonical is not None:
            return canonical
        try:
            return self._unknown_model(model, tenant_id, unit, self._rules.get(tenant_id, self._default), [])
        except UnknownModelRejected:
            return None

    def cards_for(self, tenant_id: str, canonical: str) -> tuple[str, list[tuple[Version, RateCard]]]:
        """Every version of `canonical` with the tenant's adjustments, oldest first, and a key
        naming whose prices they are ("*" when they are the list prices)."""
        tenant = self._rules.get(tenant_id, self._default)
        versions = list(reversed(self._index.versions.get(canonical, ())))
        cards = [(version, self._card(tenant, canonical, version)) for version in versions]
        adjusted = any(card is not version.card for version, card in cards)
        return (tenant.label if adjusted else "*"), cards

    def _unpriced(self, event: UsageEvent, reason: str) -> PricedUsage:
        return PricedUsage(
            event=event, status=PricingStatus.UNPRICED, currency=self.catalog.currency,
            catalog_version=self.catalog.version, reason=reason,
        )


_default_pricers: dict[int, tuple[Catalog, Pricer]] = {}


def price_event(catalog: Catalog, event: UsageEvent) -> PricedUsage:
    """Price one event at list prices (no tenant pricing; unknown models are unpriced)."""
    held = _default_pricers.get(id(catalog))
    if held is None or held[0] is not catalog:
        held = _default_pricers[id(catalog)] = (catalog, Pricer(catalog))
    return held[1].price(event)
