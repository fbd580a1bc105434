"""Savings recommendations: which cheaper model, mode or setting applies to stored usage, and
what the same quantities would have cost there.

ClickHouse aggregates the stored quantities (queries.UsageGroups: one row per model, billing
mode, unit, voice tier, resolution, audio flag, price period, prompt-size class and rule
scope); this module prices each group under the alternative with the engine's own rate cards
(the same Pricer, so aliases, tenant adjustments, batch and long-context rules hold) and
compares. Summing quantities before multiplying is exact (meterstream/pricing/groups.py,
shared with re-pricing): with unit prices of at most 12 places (6 for video seconds) no
per-event line needs rounding, so Σ(q × p) = (Σq) × p to the last digit. A group priced with
a finer unit price is left out and counted in `inexact_groups` rather than reported
approximately.

Usage stored unpriced is never a saving: its groups are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from meterstream.pricing import Pricer
from meterstream.pricing.groups import Inexact, PriceShape, Sums, group_cost
from meterstream.pricing.rates import RateCard
from meterstream.schemas import BillingMode

ZERO = Decimal(0)
SHARE_PLACES = Decimal("0.0001")
# Rule scopes, as queries.UsageGroups computes them per stored row.
SHORT_OUTPUT_TOKENS = 1_000  # output + thinking at most this: a short answer
LONG_PROMPT_TOKENS = 4_096  # the smallest prompt Gemini's explicit context cache accepts (2.5 models)
LOW_CACHED_SHARE = Decimal("0.25")  # cached share of a long prompt below this: caching would help
# (and the prompt "repeats": its session made at least two long-prompt calls to the model)
ASSUMED_CACHE_HIT = Decimal("0.5")  # the share of such a prompt assumed cacheable (a repeated system prompt)
NON_INTERACTIVE_VALUES = ("false", "no", "0")  # attributes['interactive']
NON_INTERACTIVE_WORKLOADS = ("batch", "background", "offline", "scheduled", "nightly")  # attributes['workload']
# Usage is also non-interactive when "timed" so: its occurred_at falls in UTC hours the caller names
# (parse_hours). One flag per stored row, tagged or timed or both, so no call counts twice.


class Kind(StrEnum):
    MODEL_SWAP = "model_swap"
    BATCH = "batch_mode"
    CACHING = "context_caching"
    VIDEO_AUDIO = "video_without_audio"
    VIDEO_RESOLUTION = "video_resolution"
    VOICE_TIER = "voice_tier"


class Scope(StrEnum):
    ALL = "all"
    SHORT_OUTPUT = "short_output"
    NON_INTERACTIVE = "non_interactive"
    LONG_UNCACHED_PROMPT = "long_uncached_prompt"
    WITH_AUDIO = "with_audio"
    RESOLUTION_4K = "resolution_4k"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: Kind
    source: str  # canonical catalog model the rule applies to
    scope: Scope
    trade_off: str
    target: str = ""  # the cheaper model, for a swap or a voice tier
    text_only: bool = False  # the target takes no audio input: usage with audio stays where it is


SWAP_RULES: tuple[Rule, ...] = (
    Rule("veo-3-to-veo-3-fast", Kind.MODEL_SWAP, "veo-3.0-generate", Scope.ALL,
         "Veo 3 Fast renders quicker and cheaper at somewhat lower visual fidelity: good for drafts and previews.",
         "veo-3.0-fast-generate"),
    Rule("veo-3.1-to-veo-3.1-fast", Kind.MODEL_SWAP, "veo-3.1-generate", Scope.ALL,
         "Veo 3.1 Fast trades some detail and motion quality for price and speed.", "veo-3.1-fast-generate"),
    Rule("imagen-4-ultra-to-standard", Kind.MODEL_SWAP, "imagen-4.0-ultra-generate", Scope.ALL,
         "Imagen 4 Standard follows prompts a little less precisely than Ultra; most product shots look the same.",
         "imagen-4.0-generate"),
    Rule("imagen-4-standard-to-fast", Kind.MODEL_SWAP, "imagen-4.0-generate", Scope.ALL,
         "Imagen 4 Fast is quicker and half the price, with less fine detail: fine for thumbnails and drafts.",
         "imagen-4.0-fast-generate"),
    Rule("gemini-2.5-pro-to-flash-short-outputs", Kind.MODEL_SWAP, "gemini-2.5-pro", Scope.SHORT_OUTPUT,
         f"Gemini 2.5 Flash reasons less deeply than Pro; for calls answering in at most {SHORT_OUTPUT_TOKENS:,} "
         "tokens (classification, extraction, short replies) the quality is usually the same.", "gemini-2.5-flash"),
    Rule("gemini-2.5-flash-to-flash-lite", Kind.MODEL_SWAP, "gemini-2.5-flash", Scope.SHORT_OUTPUT,
         "Gemini 2.5 Flash-Lite is the fastest and cheapest 2.5 model but weaker at multi-step reasoning: "
         "check it on your short-answer calls first.", "gemini-2.5-flash-lite"),
    Rule("gemini-2.0-flash-to-flash-lite", Kind.MODEL_SWAP, "gemini-2.0-flash", Scope.SHORT_OUTPUT,
         "Gemini 2.0 Flash-Lite has no audio input or caching and is weaker at reasoning; fine for simple "
         "short-answer text calls.", "gemini-2.0-flash-lite", text_only=True),
    Rule("tts-studio-to-neural2", Kind.VOICE_TIER, "cloud-tts-studio", Scope.ALL,
         "Neural2 voices sound less expressive than Studio voices; fine for notifications and UI speech.",
         "cloud-tts-neural2"),
    Rule("tts-chirp3-hd-to-neural2", Kind.VOICE_TIER, "cloud-tts-chirp3-hd", Scope.ALL,
         "Neural2 voices are less conversational than Chirp 3 HD; fine for read-out text.", "cloud-tts-neural2"),
    Rule("tts-neural2-to-wavenet", Kind.VOICE_TIER, "cloud-tts-neural2", Scope.ALL,
         "WaveNet voices are a little less natural than Neural2, at a quarter of the price.", "cloud-tts-wavenet"),
)
BATCH_RULE = Rule("batch-mode-for-non-interactive", Kind.BATCH, "*", Scope.NON_INTERACTIVE,
                  "The Batch API halves input and output prices but answers within up to 24 hours: only for work "
                  "nobody waits on.")
CACHE_RULE = Rule("context-caching-for-long-prompts", Kind.CACHING, "*", Scope.LONG_UNCACHED_PROMPT,
                  f"Caching the repeated part of long prompts (assumed {ASSUMED_CACHE_HIT:.0%} of them here) bills it "
                  "at the cache rate, but an explicit cache also pays storage per hour and must be kept warm.")
AUDIO_RULE = Rule("video-without-audio", Kind.VIDEO_AUDIO, "*", Scope.WITH_AUDIO,
                  "Video generated without its soundtrack costs less per second; add music or voice afterwards "
                  "if the clip needs it.")
RESOLUTION_RULE = Rule("video-at-1080p", Kind.VIDEO_RESOLUTION, "*", Scope.RESOLUTION_4K,
                       "1080p instead of 4K costs less per second; upscale the clips that need 4K.")
RULES: tuple[Rule, ...] = (*SWAP_RULES, BATCH_RULE, CACHE_RULE, AUDIO_RULE, RESOLUTION_RULE)


@dataclass(frozen=True, kw_only=True)
class UsageGroup(Sums):
    """Stored usage aggregated by everything its price depends on, plus the rule scopes, with its
    summed quantities (Sums)."""

    model: str
    billing_mode: str
    unit: str
    voice_tier: str
    resolution: str
    with_audio: bool
    at: datetime  # an instant of the group's price period (its earliest occurred_at)
    prompt_class: int  # how many of the catalog's long-context thresholds its prompts exceed
    scopes: frozenset[Scope]
    currency: str
    priced: bool  # stored as priced
    operations: int
    cost: Decimal  # as stored


@dataclass(frozen=True)
class Recommendation:
    rule_id: str
    kind: Kind
    model: str
    alternative: str  # the model, mode or setting it would use
    operations: int
    cost: Decimal  # what the touched usage cost
    would_cost: Decimal  # what the same quantities cost under the alternative
    saving: Decimal
    share_of_cost: Decimal  # of the period's priced cost, 4 places
    share_of_operations: Decimal
    currency: str
    trade_off: str


@dataclass
class RecommendationSet:
    recommendations: list[Recommendation] = field(default_factory=list)
    total_cost: Decimal = ZERO
    operations: int = 0
    unpriced_operations: int = 0
    inexact_groups: int = 0
    currency: str = "USD"


def parse_hours(text: str) -> tuple[int, ...]:
    """UTC hours from `A-B[,C-D...]` (or a single hour `H`): each range is from hour A up to, not
    including, hour B, 0 <= A, B <= 24, and wraps past midnight when A > B: `0-6` is 00:00-05:59,
    `22-6` is 22:00-05:59. The hours ascending; ValueError with the reason when malformed."""
    hours: set[int] = set()
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise ValueError("name at least one hour range, e.g. 0-6")
    for part in parts:
        bounds = [b.strip() for b in part.split("-")]
        if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
            raise ValueError(f"{part!r} is not an hour range like 0-6 (UTC hours, end excluded)")
        first, last = (int(bounds[0]), int(bounds[-1]) + 1) if len(bounds) == 1 else map(int, bounds)
        if not (0 <= first <= 23 and 0 <= last <= 24):
            raise ValueError(f"{part!r}: hours go from 0 to 24")
        if first == last:
            raise ValueError(f"{part!r} is empty: the end hour is excluded")
        hours.update(range(first, last) if first < last else (*range(first, 24), *range(0, last)))
    return tuple(sorted(hours))


class GroupPricer:
    """Prices a UsageGroup's aggregated quantities with the engine's rate cards (pricing/groups.py)."""

    def __init__(self, pricer: Pricer, tenant_id: str, thresholds: tuple[int, ...]) -> None:
        self.pricer, self.tenant_id, self.shape = pricer, tenant_id, PriceShape(thresholds, ())

    def canonical(self, group: UsageGroup) -> str | None:
        return self.pricer.resolve_for(self.tenant_id, group.model, group.unit, group.voice_tier or None)

    def _card(self, canonical: str, at: datetime) -> RateCard | None:
        _, cards = self.pricer.cards_for(self.tenant_id, canonical)
        for version, card in cards:
            if version.start <= at and (version.end is None or at < version.end):
                return card
        return None

    def cost(self, group: UsageGroup, canonical: str, mode: str | None = None) -> Decimal | None:
        """The group's cost priced as `canonical` in `mode` (default its own); None if unpriceable.
        Raises Inexact when the prices are too fine for aggregated quantities."""
        card = self._card(canonical, group.at)
        if card is None or card.unit != group.unit:
            return None
        long = self.shape.is_long(card.threshold, group.prompt_class)
        table = card.tables.get((BillingMode(mode or group.billing_mode), long))
        if table is None:
            return None
        return group_cost(table, group.unit, group, group.resolution or None, group.with_audio)


def _alternative(rule: Rule, group: UsageGroup, canonical: str, prices: GroupPricer) -> tuple[str, Decimal] | None:
    """(what the alternative is, its cost) when `rule` applies to `group`."""
    if rule.scope is not Scope.ALL and rule.scope not in group.scopes:
        return None
    if rule.kind in (Kind.MODEL_SWAP, Kind.VOICE_TIER):
        if canonical != rule.source or (rule.text_only and group.audio_input_tokens):
            return None
        cost = prices.cost(group, rule.target)
        return None if cost is None else (rule.target, cost)
    if rule.kind is Kind.BATCH:
        if group.billing_mode != BillingMode.STANDARD.value:
            return None
        cost = prices.cost(group, canonical, BillingMode.BATCH.value)
        return None if cost is None else ("batch mode", cost)
    if rule.kind is Kind.CACHING:
        if group.unit != "tokens":
            return None
        uncached_text = group.input_tokens - group.cached_input_tokens - (
            group.audio_input_tokens - group.cached_audio_input_tokens)
        moved = int(Decimal(uncached_text) * ASSUMED_CACHE_HIT)
        cost = prices.cost(replace(group, cached_input_tokens=group.cached_input_tokens + moved), canonical)
        return None if cost is None else ("context cache", cost)
    if rule.kind is Kind.VIDEO_AUDIO:
        cost = prices.cost(replace(group, with_audio=False), canonical)
        return None if cost is None else ("without audio", cost)
    if rule.kind is Kind.VIDEO_RESOLUTION:
        cost = prices.cost(replace(group, resolution="1080p"), canonical)
        return None if cost is None else ("1080p", cost)
    return None


def recommend(groups: Iterable[UsageGroup], prices: GroupPricer, rules: tuple[Rule, ...] = RULES,
              min_saving: Decimal = ZERO) -> RecommendationSet:
    """Every rule that saves money on `groups`, the largest saving first."""
    result = RecommendationSet()
    found: dict[tuple[str, str, str], list] = {}  # (rule, model, currency) -> [alternative, ops, cost, would]
    for group in groups:
        result.operations += group.operations
        if not group.priced:
            result.unpriced_operations += group.operations
            continue
        result.total_cost += group.cost
        result.currency = group.currency
        canonical = prices.canonical(group)
        if canonical is None:
            continue
        for rule in rules:
            try:
                alternative = _alternative(rule, group, canonical, prices)
                current = prices.cost(group, canonical) if alternative is not None else None
            except Inexact:
                result.inexact_groups += 1
                break
            if alternative is None or current is None:
                continue
            name, would = alternative
            # `current` re-prices the same quantities the same way: the saving is the alternative's
            # effect alone, also when the stored cost came from older prices.
            entry = found.setdefault((rule.rule_id, canonical, group.currency), [name, 0, ZERO, ZERO])
            entry[1] += group.operations
            entry[2] += current
            entry[3] += would
    by_id = {rule.rule_id: rule for rule in rules}
    for (rule_id, model, currency), (name, operations, cost, would) in found.items():
        saving = cost - would
        if saving <= min_saving:
            continue
        rule = by_id[rule_id]
        result.recommendations.append(Recommendation(
            rule_id=rule_id, kind=rule.kind, model=model, alternative=name, operations=operations, cost=cost,
            would_cost=would, saving=saving, share_of_cost=_share(cost, result.total_cost),
            share_of_operations=_share(Decimal(operations), Decimal(result.operations)), currency=currency,
            trade_off=rule.trade_off))
    result.recommendations.sort(key=lambda r: (-r.saving, r.rule_id, r.model))
    return result


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return ZERO if whole == 0 else (part / whole).quantize(SHARE_PLACES)


def scope_names(flags: Mapping[str, bool]) -> frozenset[Scope]:
    return frozenset(Scope(name) for name, on in flags.items() if on)

