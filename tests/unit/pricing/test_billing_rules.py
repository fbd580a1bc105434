"""Each billing rule, with costs worked out by hand from the list prices in default.toml.

Prices used (USD per 1M tokens unless noted):
  gemini-2.5-flash  input 0.30, audio 1.00, cached 0.03, cached audio 0.10, output 2.50
  gemini-2.5-pro    input 1.25, cached 0.125, output 10.00; prompts > 200k: 2.50, 0.25, 15.00
  gemini-2.5-flash-image  input 0.30, output 2.50, image output 30.00
  imagen-4.0-ultra 0.06/image; veo-3.0-generate 0.40/s with audio, 0.20/s without (0.75/s
  before 2025-09-09); veo-3.1-generate 0.40/s, 4k 0.60/s; veo-3.1-fast 0.10/s, 1080p 0.12/s,
  4k 0.30/s from 2026-04-07 (0.15/s, 4k 0.35/s before); veo-2.0 0.35/s;
  Cloud TTS per 1M characters: Neural2 16, Chirp 3 HD 30.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterstream.schemas import CharacterUsage, ImageUsage, PricingStatus, VideoUsage
from tests.unit.pricing.builders import costs, price, tokens

D = Decimal

TOKEN_CASES = [
    pytest.param(
        "gemini-2.5-flash", tokens(input_tokens=10_000, cached_input_tokens=4_000, output_tokens=1_000),
        # the prompt count includes the cached tokens: 6,000 uncached × 0.30 + 4,000 × 0.03 + 1,000 × 2.50
        {"input": D("0.0018"), "cached_input": D("0.00012"), "output": D("0.0025")},
        id="cached-input-at-the-cache-rate",
    ),
    pytest.param(
        "gemini-2.5-pro", tokens(input_tokens=1_000, output_tokens=400, thinking_tokens=3_600),
        # thinking is output: (400 + 3,600) × 10.00 / 1M = 0.04; input 1,000 × 1.25 / 1M
        {"input": D("0.00125"), "output": D("0.04")},
        id="thinking-billed-as-output",
    ),
    pytest.param(
        "gemini-2.5-flash", tokens(input_tokens=10_000, audio_input_tokens=6_000, output_tokens=0),
        # 4,000 text × 0.30 = 0.0012; 6,000 audio × 1.00 = 0.006
        {"input": D("0.0012"), "audio_input": D("0.006")},
        id="audio-input-at-its-own-rate",
    ),
    pytest.param(
        "gemini-2.5-flash", tokens(input_tokens=1_000, tool_use_prompt_tokens=500, output_tokens=200),
        # tool-use prompt tokens are input: 1,500 × 0.30 = 0.00045; 200 × 2.50 = 0.0005
        {"input": D("0.00045"), "output": D("0.0005")},
        id="tool-use-prompt-as-input",
    ),
    pytest.param(
        "gemini-2.5-pro", tokens(input_tokens=200_000, output_tokens=1_000),
        # exactly 200,000 is not above the threshold: 200,000 × 1.25 = 0.25; 1,000 × 10.00 = 0.01
        {"input": D("0.25"), "output": D("0.01")},
        id="tier-boundary-200000-is-standard",
    ),
    pytest.param(
        "gemini-2.5-pro", tokens(input_tokens=200_001, output_tokens=1_000),
        # 200,001 is above: the whole request at the long rates. 200,001 × 2.50 = 0.5000025; 1,000 × 15 = 0.015
        {"input": D("0.5000025"), "output": D("0.015")},
        id="tier-boundary-200001-is-long-context",
    ),
    pytest.param(
        "gemini-2.5-pro", tokens(input_tokens=200_001, cached_input_tokens=100_000, output_tokens=2_000),
        # long tier applies to the cache too: 100,001 × 2.50 = 0.2500025; 100,000 × 0.25 = 0.025; 2,000 × 15 = 0.03
        {"input": D("0.2500025"), "cached_input": D("0.025"), "output": D("0.03")},
        id="long-context-prices-the-cache-too",
    ),
    pytest.param(
        "gemini-2.5-pro", tokens(input_tokens=199_000, tool_use_prompt_tokens=1_001, output_tokens=0),
        # tool-use tokens count toward the prompt size: 200,001 > 200,000, so 200,001 × 2.50 = 0.5000025
        {"input": D("0.5000025")},
        id="tool-use-tokens-count-toward-the-tier",
    ),
    pytest.param(
        "gemini-2.5-flash",
        tokens(input_tokens=20_000, cached_input_tokens=8_000, cached_audio_input_tokens=2_000,
               audio_input_tokens=5_000, output_tokens=700, thinking_tokens=1_300),
        # cached + audio + thinking in one response. Audio 5,000 of which 2,000 cached; cached 8,000 of which
        # 6,000 text. Uncached text = 20,000 − 8,000 − 3,000 = 9,000 × 0.30 = 0.0027; uncached audio
        # 3,000 × 1.00 = 0.003; cached text 6,000 × 0.03 = 0.00018; cached audio 2,000 × 0.10 = 0.0002;
        # output (700 + 1,300) × 2.50 = 0.005
        {"input": D("0.0027"), "audio_input": D("0.003"), "cached_input": D("0.00018"),
         "cached_audio_input": D("0.0002"), "output": D("0.005")},
        id="cached-audio-and-thinking-in-one-response",
    ),
    pytest.param(
        "gemini-2.5-flash-image", tokens(input_tokens=300, output_tokens=1_390, image_output_tokens=1_290),
        # one 1024px image = 1,290 image tokens × 30.00 = 0.0387; 100 text tokens × 2.50 = 0.00025; 300 × 0.30
        {"input": D("0.00009"), "output": D("0.00025"), "image_output": D("0.0387")},
        id="native-image-output-at-the-image-token-rate",
    ),
]


@pytest.mark.parametrize(("model", "usage", "expected"), TOKEN_CASES)
def test_token_rule(model, usage, expected):
    priced = price(model, usage)
    assert priced.status is PricingStatus.PRICED
    assert costs(priced) == expected
    assert priced.total_cost == sum(expected.values())


def test_batch_halves_input_and_output_but_not_cache():
    # 6,000 × 0.15 + 4,000 × 0.03 (cache unchanged) + 1,000 × 1.25
    usage = tokens(input_tokens=10_000, cached_input_tokens=4_000, output_tokens=1_000)
    priced = price("gemini-2.5-flash", usage, mode="batch")
    assert costs(priced) == {"input": D("0.0009"), "cached_input": D("0.00012"), "output": D("0.00125")}
    assert priced.total_cost == D("0.00227")


def test_the_long_context_rule_is_named_in_the_record():
    priced = price("gemini-2.5-pro", tokens(input_tokens=250_000, output_tokens=10))
    assert priced.rules[0] == "prompt of 250,000 tokens > 200,000: long-context prices for the whole request"


def test_batch_long_context_halves_the_long_rates():
    # 250,000 × 2.50 / 2 = 0.3125; 1,000 × 15.00 / 2 = 0.0075
    priced = price("gemini-2.5-pro", tokens(input_tokens=250_000, output_tokens=1_000), mode="batch")
    assert costs(priced) == {"input": D("0.3125"), "output": D("0.0075")}


def test_free_tier_counts_quantities_at_no_cost():
    priced = price("gemini-2.5-flash", tokens(input_tokens=5_000, output_tokens=800), mode="free")
    assert priced.status is PricingStatus.PRICED
    assert [(line.component, line.quantity, line.cost) for line in priced.lines] == [
        ("input", 5_000, 0), ("output", 800, 0)]
    assert priced.total_cost == 0
    assert priced.rules == ("free tier: quantities counted at no cost",)


def test_free_tier_on_a_paid_only_model_is_unpriced_not_zero():
    priced = price("imagen-4.0-generate", ImageUsage(images=2), mode="free")
    assert priced.status is PricingStatus.UNPRICED
    assert "no free tier" in priced.reason


def test_batch_on_a_model_without_batch_mode_is_unpriced():
    priced = price("veo-3.0-generate", VideoUsage(seconds=D(8)), mode="batch")
    assert priced.status is PricingStatus.UNPRICED
    assert "no batch mode" in priced.reason


JUNE_2026 = datetime(2026, 6, 1, tzinfo=UTC)
MEDIA_CASES = [
    pytest.param("imagen-4.0-ultra-generate", ImageUsage(images=3), JUNE_2026,
                 "image", D("0.18"), id="per-image: 3 × 0.06"),
    pytest.param("veo-3.0-generate", VideoUsage(seconds=D(8)), JUNE_2026, "second_with_audio", D("3.20"),
                 id="per-second-with-audio: 8 × 0.40"),
    pytest.param("veo-3.0-generate", VideoUsage(seconds=D(8), with_audio=False), JUNE_2026, "second", D("1.60"),
                 id="per-second-without-audio: 8 × 0.20"),
    pytest.param("veo-3.1-generate", VideoUsage(seconds=D(8), resolution="4K"), JUNE_2026, "second@4k", D("4.80"),
                 id="per-second-by-resolution: 8 × 0.60 at 4k"),
    pytest.param("veo-3.1-generate", VideoUsage(seconds=D(8), resolution="2160p"), JUNE_2026, "second@4k", D("4.80"),
                 id="2160p-is-4k"),
    pytest.param("veo-3.1-generate", VideoUsage(seconds=D(6), resolution="1080p"), JUNE_2026, "second", D("2.40"),
                 id="resolution-without-its-own-price: 6 × 0.40"),
    pytest.param("veo-3.1-fast-generate", VideoUsage(seconds=D(8), resolution="1080p"), JUNE_2026, "second@1080p",
                 D("0.96"), id="veo-3.1-fast-1080p-after-the-cut: 8 × 0.12"),
    pytest.param("veo-3.1-fast-generate", VideoUsage(seconds=D(8), resolution="1080p"),
                 datetime(2026, 1, 10, tzinfo=UTC), "second", D("1.20"), id="veo-3.1-fast-before-the-cut: 8 × 0.15"),
    pytest.param("veo-2.0-generate", VideoUsage(seconds=D(5), with_audio=True), JUNE_2026, "second", D("1.75"),
                 id="a-model-priced-only-per-second-ignores-the-audio-flag: 5 × 0.35"),
    pytest.param("veo-3.0-fast-generate", VideoUsage(seconds=D("2.5")), JUNE_2026, "second_with_audio", D("0.375"),
                 id="fractional-seconds: 2.5 × 0.15"),
    pytest.param("cloud-tts", CharacterUsage(characters=1_000, voice_tier="en-US-Neural2-A"), JUNE_2026, "character",
                 D("0.016"), id="per-character-by-voice-tier: 1,000 × 16 / 1M"),
    pytest.param("cloud-tts-chirp3-hd", CharacterUsage(characters=2_500), JUNE_2026, "character", D("0.075"),
                 id="chirp3-hd: 2,500 × 30 / 1M"),
]


@pytest.mark.parametrize(("model", "usage", "at", "component", "cost"), MEDIA_CASES)
def test_media_rule(model, usage, at, component, cost):
    priced = price(model, usage, at=at)
    assert costs(priced) == {component: cost}
    assert priced.total_cost == cost


def test_video_without_audio_for_a_model_priced_only_with_audio_is_unpriced():
    # Veo 3's launch version knew no price for silent video
    priced = price("veo-3.0-generate", VideoUsage(seconds=D(8), with_audio=False), at=datetime(2025, 8, 1, tzinfo=UTC))
    assert priced.status is PricingStatus.UNPRICED
    assert "without audio" in priced.reason


@pytest.mark.parametrize(("model", "resolution"), [
    ("veo-3.1-generate", "8k"),  # no model prices 8k
    ("veo-3.1-lite-generate", "4k"),  # lite lists 720p and 1080p only
    ("veo-2.0-generate", "4K"),  # a plain per-second price covers 720p and 1080p, not 4k
])
def test_a_video_resolution_the_entry_does_not_list_is_unpriced_not_billed_at_the_base_rate(model, resolution):
    priced = price(model, VideoUsage(seconds=D(8), resolution=resolution), at=JUNE_2026)
    assert priced.status is PricingStatus.UNPRICED and priced.total_cost == 0 and priced.lines == ()
    assert f"lists no price for video at {resolution}" in priced.reason and "720p" in priced.reason


def test_a_late_event_gets_the_price_in_effect_when_it_happened():
    # Veo 3 cost 0.75/s until the cut on 2025-09-09: 8 s → 6.00 the second before, 3.20 at the cut
    before = price("veo-3.0-generate", VideoUsage(seconds=D(8)), at=datetime(2025, 9, 8, 23, 59, 59, tzinfo=UTC))
    after = price("veo-3.0-generate", VideoUsage(seconds=D(8)), at=datetime(2025, 9, 9, tzinfo=UTC))
    assert (before.total_cost, before.price_effective_from.isoformat()) == (D("6.00"), "2025-07-17")
    assert (after.total_cost, after.price_effective_from.isoformat()) == (D("3.20"), "2025-09-09")


def test_usage_before_a_model_has_any_price_is_unpriced():
    priced = price("veo-3.1-generate", VideoUsage(seconds=D(4)), at=datetime(2025, 1, 1, tzinfo=UTC))
    assert priced.status is PricingStatus.UNPRICED
    assert "no price in catalog" in priced.reason


def test_an_unknown_model_is_unpriced_with_a_reason_never_a_silent_zero():
    priced = price("gemini-9-ultra", tokens(input_tokens=10))
    assert (priced.status, priced.lines, priced.total_cost) == (PricingStatus.UNPRICED, (), 0)
    assert priced.reason == "model 'gemini-9-ultra' is not in catalog google-2026-11-30"


def test_usage_in_another_unit_than_the_model_bills_is_unpriced():
    priced = price("gemini-2.5-flash", ImageUsage(images=1))
    assert priced.status is PricingStatus.UNPRICED
    assert "billed in tokens" in priced.reason


def test_token_counts_that_overlap_more_than_the_prompt_are_unpriced():
    # 80 cached + 80 uncached audio cannot fit in a 100-token prompt
    priced = price("gemini-2.5-flash", tokens(input_tokens=100, cached_input_tokens=80, audio_input_tokens=80))
    assert priced.status is PricingStatus.UNPRICED
    assert "inconsistent token counts" in priced.reason


def test_zero_usage_is_priced_at_zero_with_no_lines():
    priced = price("gemini-2.5-flash", tokens())
    assert (priced.status, priced.lines, priced.total_cost) == (PricingStatus.PRICED, (), 0)


def test_the_record_names_the_model_and_version_whose_prices_applied():
    priced = price("models/gemini-2.5-pro-preview-06-05", tokens(input_tokens=10))
    assert (priced.priced_as, priced.price_effective_from.isoformat()) == ("gemini-2.5-pro", "2025-06-17")
