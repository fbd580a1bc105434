"""Rules that must hold for every input, checked with hypothesis."""

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from meterstream.pricing import Pricer, TenantBook, TenantPricing
from meterstream.schemas import CharacterUsage, ImageUsage, PricedUsage, PricingStatus, TokenUsage, VideoUsage
from tests.unit.pricing.builders import DEFAULT, catalog, event

MODELS_BY_UNIT: dict[str, list[str]] = {}
for _model in DEFAULT.models:
    MODELS_BY_UNIT.setdefault(DEFAULT.versions(_model)[0].entry.unit, []).append(_model)

instants = st.datetimes(min_value=datetime(2024, 6, 1), max_value=datetime(2026, 11, 29),
                        timezones=st.just(UTC))
modes = st.sampled_from(["standard", "batch", "free"])
percents = st.one_of(st.just(Decimal(0)), st.decimals(min_value=-90, max_value=90, places=2))


@st.composite
def token_usages(draw) -> TokenUsage:
    prompt = draw(st.integers(0, 3_000_000))
    cached = draw(st.integers(0, prompt))
    cached_audio = draw(st.integers(0, cached))
    uncached_audio = draw(st.integers(0, prompt - cached))
    output = draw(st.integers(0, 200_000))
    return TokenUsage(
        input_tokens=prompt, cached_input_tokens=cached, cached_audio_input_tokens=cached_audio,
        audio_input_tokens=cached_audio + uncached_audio, output_tokens=output,
        image_output_tokens=draw(st.integers(0, output)), thinking_tokens=draw(st.integers(0, 100_000)),
        tool_use_prompt_tokens=draw(st.integers(0, 50_000)),
    )


usages = st.one_of(
    token_usages(),
    st.builds(ImageUsage, images=st.integers(0, 10_000), resolution=st.sampled_from([None, "1K", "2K"])),
    st.builds(VideoUsage, seconds=st.decimals(min_value=0, max_value=100_000, places=6),
              with_audio=st.booleans(), resolution=st.sampled_from(["720p", "1080p", "4k", "2160p"])),
    st.builds(CharacterUsage, characters=st.integers(0, 10**9),
              voice_tier=st.sampled_from([None, "chirp3-hd", "en-US-Neural2-A"])),
)


@st.composite
def priced_events(draw):
    usage = draw(usages)
    model = draw(st.sampled_from(MODELS_BY_UNIT[usage.unit]))
    tenants = TenantBook(tenants={"acme": TenantPricing(adjustment_percent=draw(percents))})
    return Pricer(DEFAULT, tenants), event(model, usage, at=draw(instants), mode=draw(modes))


@settings(max_examples=300, deadline=None)
@given(priced_events())
def test_cost_lines_are_non_negative_fit_decimal128_12_and_sum_exactly_to_the_total(case):
    pricer, usage_event = case
    priced = pricer.price(usage_event)
    for line in priced.lines:
        assert line.quantity >= 0 and line.unit_price >= 0 and line.cost >= 0
        assert line.cost.as_tuple().exponent >= -12
    assert priced.total_cost == sum((line.cost for line in priced.lines), Decimal(0))
    if priced.status is PricingStatus.UNPRICED:
        assert priced.total_cost == 0 and priced.reason
    # the engine builds records without validating them twice: they must pass full validation
    assert PricedUsage.model_validate_json(priced.model_dump_json()) == priced


@settings(max_examples=200, deadline=None)
@given(priced_events())
def test_pricing_is_deterministic(case):
    pricer, usage_event = case
    again = Pricer(pricer.catalog, pricer.tenants)
    assert pricer.price(usage_event) == pricer.price(usage_event) == again.price(usage_event)


@st.composite
def versioned_catalogs(draw):
    starts = sorted(draw(st.sets(st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 6, 1)),
                                 min_size=1, max_size=6)))
    entries = [{"model": "m", "unit": "images", "effective_from": start.isoformat(),
                "prices": {"image": Decimal(n + 1)}} for n, start in enumerate(starts)]
    return catalog(*entries), starts


@settings(max_examples=300, deadline=None)
@given(versioned_catalogs(), st.datetimes(min_value=datetime(2023, 6, 1), max_value=datetime(2026, 11, 29),
                                          timezones=st.just(UTC)))
def test_the_price_applied_never_comes_from_a_version_not_yet_effective(versions, at):
    prices, starts = versions
    priced = Pricer(prices).price(event("m", ImageUsage(images=1), at=at))
    effective = [start for start in starts if start <= at.date()]
    if not effective:
        assert priced.status is PricingStatus.UNPRICED
        return
    # the newest version already in effect, and no other
    assert priced.price_effective_from == max(effective)
    assert priced.total_cost == Decimal(starts.index(max(effective)) + 1)


@settings(max_examples=100, deadline=None)
@given(token_usages())
def test_the_long_context_tier_applies_exactly_above_200000_prompt_tokens(usage):
    priced = Pricer(DEFAULT).price(event("gemini-2.5-pro", usage))
    long = usage.input_tokens + usage.tool_use_prompt_tokens > 200_000
    assert any("long-context" in rule for rule in priced.rules) is long
