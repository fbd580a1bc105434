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
- images: per image returned; video: per second, by resolution and audio (a plain
  per-second price covers 720p and 1080p; any other resolution needs a listed variant,
  else the event is unpriced, or rejected by the tenant's policy);
  characters: per character, by Cloud TTS voice tier (the tier picks the entry).
- batch and free modes, tenant adjustments: see rates.py.
- the price version is the one in effect at the event's `occurred_at`.
- each line's cost is exact, rounded half-to-even to 12 decimal places only where it has
  more; the total is the exact sum of the lines.
- an event that cannot be priced is UNPRICED with a reason, never a silent zero.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from meterstream.pricing.catalog import Catalog, Version
from meterstream.pricing.entry import BASE_VIDEO_RESOLUTIONS, COMPONENTS, LINE_UNITS
from meterstream.pricing.errors import CatalogError, UnknownModelRejected, UnpriceableUsageRejected
from meterstream.pricing.money import EXACT, ZERO, to_storage
from meterstream.pricing.names import normalize_resolution
from meterstream.pricing.rates import Adjustment, RateCard, build_rate_card
from meterstream.pricing.tenants import UNLISTED, TenantBook, TenantPricing, UnknownModelPolicy, UnpriceablePolicy
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
_add, _multiply = EXACT.add, EXACT.multiply
_cost_line = trusted(CostLine)
_priced_usage = trusted(PricedUsage)
Lines = tuple[tuple[CostLine, ...], Decimal]


class _Unpriceable(Exception):
    """The event cannot be priced with this entry; the message says why. `field` names the
    usage field the entry has no price for (a tenant may reject such usage), if it is one."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.field = field


def _unsupported(card: RateCard, mode: BillingMode) -> _Unpriceable:
    kind = "tier" if mode is BillingMode.FREE else "mode"
    return _Unpriceable(f"{card.entry.model} has no {mode.value} {kind} in this catalog")


def _token_lines(card: RateCard, mode: BillingMode, usage: TokenUsage, rules: list[str]) -> Lines:
    counts = usage.__dict__  # the validated fields, read as a dict: faster than attribute look-ups
    prompt = counts["input_tokens"]
    tool_use = counts["tool_use_prompt_tokens"]
    threshold = card.threshold
    long = False
    if threshold is not None and prompt + tool_use > threshold:
        long = True
        rules.append(f"prompt of {prompt + tool_use:,} tokens > {threshold:,}: long-context prices for the "
                     "whole request")
    rates = card.token_rates.get((mode, long))
    if rates is None:
        raise _unsupported(card, mode)
    # The billed quantities, in TOKEN_COMPONENTS order: the prompt count includes cached and
    # audio tokens; cached audio is part of both; image output is part of the output.
    cached = counts["cached_input_tokens"]
    cached_audio = counts["cached_audio_input_tokens"]
    uncached_audio = counts["audio_input_tokens"] - cached_audio
    text = prompt - cached - uncached_audio
    if text < 0:
        raise _Unpriceable(f"inconsistent token counts: cached ({cached}) plus uncached audio ({uncached_audio}) "
                           f"exceed the prompt ({prompt})")
    billed_input = text + tool_use
    cached_text = cached - cached_audio
    image_output = counts["image_output_tokens"]
    output = counts["output_tokens"] - image_output + counts["thinking_tokens"]  # thinking is output
    input_rate, audio_rate, cached_rate, cached_audio_rate, output_rate, image_output_rate = rates
    lines: list[CostLine] = []
    total = ZERO
    # One test per component rather than a loop over all six: most events bill two or three,
    # and pairing each rate with its quantity in a loop cost about 9% of an event's pricing.
    if billed_input:
        total = _add_line(lines, input_rate, billed_input, total)
    if uncached_audio:
        total = _add_line(lines, audio_rate, uncached_audio, total)
    if cached_text:
        total = _add_line(lines, cached_rate, cached_text, total)
    if cached_audio:
        total = _add_line(lines, cached_audio_rate, cached_audio, total)
    if output:
        total = _add_line(lines, output_rate, output, total)
    if image_output:
        total = _add_line(lines, image_output_rate, image_output, total)
    return tuple(lines), total


def _add_line(lines: list[CostLine], rate: tuple[str, Decimal, bool], quantity: int, total: Decimal) -> Decimal:
    """Append the token line for `quantity` at `rate`; return `total` plus its cost."""
    component, unit_price, fine = rate
    amount = Decimal(quantity)
    cost = _multiply(amount, unit_price)
    if fine:  # only a price with more than 12 places can give a cost with more
        cost = to_storage(cost)
    lines.append(_cost_line({"component": component, "quantity": amount, "unit": "token", "unit_price": unit_price,
                             "cost": cost}))
    return _add(total, cost)


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


def video_key(table: Mapping[str, Decimal], with_audio: bool, resolution: str | None) -> str | None:
    """The priced video component: per base (with audio first), `base@resolution`, else the
    plain `base` when it covers the resolution (BASE_VIDEO_RESOLUTIONS); None if none does."""
    for base in video_bases(with_audio):
        if resolution is not None and f"{base}@{resolution}" in table:
            return f"{base}@{resolution}"
        if base in table and resolution in BASE_VIDEO_RESOLUTIONS:
            return base
    return None


def _media_lines(card: RateCard, mode: BillingMode, usage: ImageUsage | VideoUsage | CharacterUsage) -> Lines:
    table = card.tables.get((mode, False))
    if table is None:
        raise _unsupported(card, mode)
    quantity: int | Decimal
    if isinstance(usage, ImageUsage):
        key, quantity = variant_key(table, ("image",), normalize_resolution(usage.resolution)), usage.images
    elif isinstance(usage, VideoUsage):
        resolution = normalize_resolution(usage.resolution)
        key = video_key(table, usage.with_audio, resolution)
        quantity = usage.seconds
        if key is None:
            listed = sorted(BASE_VIDEO_RESOLUTIONS | {name.split("@", 1)[1] for name in table if "@" in name})
            if resolution not in listed:
                raise _Unpriceable(f"{card.entry.model} lists no price for video at {usage.resolution} "
                                   f"(it prices {', '.join(listed)})", field="usage.resolution")
            audio = "with" if usage.with_audio else "without"
            raise _Unpriceable(f"{card.entry.model} has no price for video {audio} audio at {usage.resolution}")
    else:
        key, quantity = "character", usage.characters
    unit = LINE_UNITS[usage.unit]
    if key is None:
        raise _Unpriceable(f"{card.entry.model} has no '{unit}' price")
    if not quantity:
        return (), ZERO
    unit_price = table[key]
    amount = Decimal(quantity)
    cost = to_storage(_multiply(amount, unit_price))
    return (_cost_line({"component": key, "quantity": amount, "unit": unit, "unit_price": unit_price,
                        "cost": cost}),), cost


@dataclass(frozen=True, slots=True)
class _Plan:
    """One price version of a model as a tenant pays it, and what every record priced with it shares."""

    start: datetime
    end: datetime | None  # exclusive; None = open-ended
    card: RateCard
    # billing mode -> the PricedUsage fields (in field order, which a copy keeps) that every
    # record priced with this card in this mode shares; each record copies them and fills in
    # its event, lines and total: cheaper than building all twelve fields for every event
    records: Mapping[BillingMode, dict[str, object]]


Known = tuple[str, tuple[_Plan, ...]]  # a canonical model and its plans, newest first


@dataclass(frozen=True, slots=True)
class _TenantRules:
    """One tenant's pricing, checked against the catalog and keyed by canonical model names."""

    label: str
    version: str  # names this pricing on every record it prices (PricedUsage.tenant_pricing)
    percent: Decimal
    custom: Mapping[str, Mapping[str, Decimal]]
    policy: UnknownModelPolicy
    fallbacks: Mapping[str, str]  # billing unit -> canonical fallback model
    unpriceable: UnpriceablePolicy
    # model name (and voice tier) as sent, or a canonical name -> its plans, for known models
    # only: memoised per tenant, so an event needs no alias resolution or tenant adjustment
    models: dict[object, Known] = field(default_factory=dict)


class Pricer:
    """Prices events with a catalog and the tenants' pricing. Pure: no I/O, deterministic.

    `price()` raises UnknownModelRejected when the tenant's policy rejects an unknown model, and
    UnpriceableUsageRejected when it rejects usage a known model's entry cannot price (the
    stream dead-letters such events); every other problem yields an UNPRICED record.
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
        return _TenantRules(label, tenant_pricing_version(pricing), pricing.adjustment_percent, custom,
                            pricing.unknown_model, fallbacks, pricing.unpriceable_usage)

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
        fields = event.__dict__  # the validated fields, read as a dict: this runs for every event
        usage, model, at = fields["usage"], fields["model"], fields["occurred_at"]
        unit = usage.unit
        voice = usage.voice_tier if unit == "characters" else None
        tenant = self._rules.get(fields["tenant_id"], self._default)
        rules: list[str] = []
        name = model if voice is None else (model, voice)
        known = tenant.models.get(name)
        if known is None:
            canonical = self._index.resolve(model, voice)
            if canonical is None:
                canonical = self._unknown_model(model, fields["tenant_id"], unit, tenant, rules)
                if canonical is None:
                    return self._unpriced(event, f"model '{model}' is not in catalog {self._version}")
                known = self._plans(tenant, canonical)
            else:
                known = self._plans(tenant, canonical)
                if len(tenant.models) < 100_000:
                    tenant.models[name] = known
        canonical, plans = known
        plan = None
        for candidate in plans:  # newest first; CatalogIndex.lookup, inlined on this hot path
            if candidate.start <= at:
                if candidate.end is None or at < candidate.end:
                    plan = candidate
                break
        if plan is None:
            return self._unpriced(event, f"'{canonical}' has no price in catalog {self._version} "
                                         f"at {at:%Y-%m-%d %H:%M}Z")
        card = plan.card
        if card.unit != unit:
            return self._unpriced(event, f"'{canonical}' is billed in {card.unit}, the event reports {unit}")
        mode = fields["billing_mode"]
        try:
            if unit == "tokens":
                lines, total = _token_lines(card, mode, usage, rules)  # type: ignore[arg-type]
            else:
                lines, total = _media_lines(card, mode, usage)  # type: ignore[arg-type]
        except _Unpriceable as problem:
            if problem.field is not None and tenant.unpriceable is UnpriceablePolicy.REJECT:
                raise UnpriceableUsageRejected(problem.field, str(problem), fields["tenant_id"]) from None
            return self._unpriced(event, str(problem))
        record = plan.records[mode].copy()
        record["event"], record["lines"], record["total_cost"] = event, lines, total
        if rules:
            record["rules"] = (*rules, *card.mode_rules[mode])
        return _priced_usage(record)

    def _plans(self, tenant: _TenantRules, canonical: str) -> Known:
        """The versions of `canonical` as `tenant` pays them (memoised under the canonical name)."""
        known = tenant.models.get(canonical)
        if known is None:
            plans = []
            for version in self._index.versions[canonical]:
                card = self._card(tenant, canonical, version)
                records = {mode: {
                    "event": None, "status": _PRICED, "lines": (), "total_cost": ZERO, "currency": self._currency,
                    "catalog_version": self._version, "reason": None, "source": None, "replayed": False,
                    "priced_as": canonical, "price_effective_from": card.effective_from, "rules": mode_rules,
                    "tenant_pricing": tenant.version,
                } for mode, mode_rules in card.mode_rules.items()}
                plans.append(_Plan(version.start, version.end, card, records))
            known = (canonical, tuple(plans))
            if len(tenant.models) < 100_000:
                tenant.models[canonical] = known
        return known

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


def tenant_pricing_version(pricing: TenantPricing) -> str:
    """'list' for list prices, else a short hash of the tenant's rules: a changed discount or
    custom price is a new version, and a statement lists the versions its usage was priced with."""
    if pricing == TenantPricing():
        return "list"
    return "tp-" + hashlib.sha256(pricing.model_dump_json().encode()).hexdigest()[:12]


_default_pricers: dict[int, tuple[Catalog, Pricer]] = {}


def price_event(catalog: Catalog, event: UsageEvent) -> PricedUsage:
    """Price one event at list prices (no tenant pricing; unknown models are unpriced)."""
    held = _default_pricers.get(id(catalog))
    if held is None or held[0] is not catalog:
        held = _default_pricers[id(catalog)] = (catalog, Pricer(catalog))
    return held[1].price(event)
