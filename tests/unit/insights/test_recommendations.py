"""The savings rules on aggregated usage, without ClickHouse: which rules apply, and their figures."""

from datetime import UTC, datetime
from decimal import Decimal

from meterstream.insights.recommendations import GroupPricer, Scope, UsageGroup, recommend
from meterstream.pricing import Pricer, TenantBook, TenantPricing, load_catalog

D = Decimal
JUNE = datetime(2026, 6, 1, 12, tzinfo=UTC)
PRICER = Pricer(load_catalog())


def group(model: str, unit: str = "tokens", scopes=(), mode: str = "standard", priced: bool = True,
          cost: str = "1", **quantities) -> UsageGroup:
    return UsageGroup(model=model, billing_mode=mode, unit=unit, voice_tier=quantities.pop("voice_tier", ""),
                      resolution=quantities.pop("resolution", ""), with_audio=quantities.pop("with_audio", False),
                      at=JUNE, prompt_class=0, scopes=frozenset(scopes), currency="USD", priced=priced,
                      operations=quantities.pop("operations", 1), cost=D(cost), **quantities)


def found(*groups, pricer=PRICER, tenant="acme"):
    result = recommend(groups, GroupPricer(pricer, tenant, (200_000,)))
    return result, {r.rule_id: r for r in result.recommendations}


def test_long_outputs_are_not_swapped_to_flash():
    _, rules = found(group("gemini-2.5-pro", input_tokens=1_000, output_tokens=5_000))
    assert "gemini-2.5-pro-to-flash-short-outputs" not in rules


def test_batch_mode_applies_only_to_non_interactive_standard_usage():
    tokens = {"input_tokens": 2_000_000, "output_tokens": 0}
    _, rules = found(group("gemini-2.5-flash", scopes={Scope.NON_INTERACTIVE}, **tokens))
    assert rules["batch-mode-for-non-interactive"].saving == 2 * D("0.30") / 2
    _, rules = found(group("gemini-2.5-flash", scopes={Scope.NON_INTERACTIVE}, mode="batch", **tokens))
    assert "batch-mode-for-non-interactive" not in rules
    _, rules = found(group("gemini-2.5-flash", **tokens))
    assert "batch-mode-for-non-interactive" not in rules


def test_unpriced_usage_is_counted_and_never_a_saving():
    result, rules = found(group("veo-3.0-generate", unit="video", priced=False, cost="0", video_seconds=D(8),
                                with_audio=True))
    assert (result.unpriced_operations, rules, result.total_cost) == (1, {}, D(0))


def test_a_voice_tier_swap_prices_the_characters_at_the_cheaper_tier():
    _, rules = found(group("cloud-tts-studio", unit="characters", characters=1_000_000, cost="160"))
    assert rules["tts-studio-to-neural2"].saving == D(160) - D(16)


def test_a_tenant_s_discount_applies_to_both_sides_of_a_swap():
    tenants = TenantBook(tenants={"vip": TenantPricing(adjustment_percent=D("-10"))})
    _, rules = found(group("imagen-4.0-ultra-generate", unit="images", images=10, cost="0.54"),
                     pricer=Pricer(load_catalog(), tenants), tenant="vip")
    swap = rules["imagen-4-ultra-to-standard"]
    assert (swap.cost, swap.would_cost, swap.saving) == (D("0.54"), D("0.36"), D("0.18"))


def test_4k_video_is_priced_at_1080p_where_the_catalog_prices_it_lower():
    _, rules = found(group("veo-3.1-generate", unit="video", scopes={Scope.RESOLUTION_4K}, resolution="4k",
                           video_seconds=D(10), cost="6"))
    assert rules["video-at-1080p"].saving == 10 * (D("0.60") - D("0.40"))


def test_every_rule_has_a_title_and_trade_off_in_both_dashboard_languages():
    from pathlib import Path

    from meterstream.insights.recommendations import RULES

    messages = (Path(__file__).resolve().parents[3] / "web" / "src" / "insights.i18n.ts").read_text()
    for rule in RULES:
        for key in (f'"rule.{rule.rule_id}"', f'"tradeoff.{rule.rule_id}"'):
            assert messages.count(key) == 2, key  # the English table and the Arabic one


def test_calls_with_audio_input_are_not_sent_to_a_model_without_audio_input():
    _, rules = found(group("gemini-2.0-flash", scopes={Scope.SHORT_OUTPUT}, input_tokens=1_000, audio_input_tokens=500,
                           output_tokens=10))
    assert "gemini-2.0-flash-to-flash-lite" not in rules
    _, rules = found(group("gemini-2.0-flash", scopes={Scope.SHORT_OUTPUT}, input_tokens=1_000, output_tokens=10))
    assert rules["gemini-2.0-flash-to-flash-lite"].saving == (1_000 * (D("0.10") - D("0.075"))
                                                              + 10 * (D("0.40") - D("0.30"))) / 1_000_000


def test_non_interactive_hours_are_utc_hour_ranges_with_the_end_excluded():
    import pytest

    from meterstream.insights.recommendations import parse_hours

    assert parse_hours("0-6") == (0, 1, 2, 3, 4, 5)
    assert parse_hours("22-2") == (0, 1, 22, 23)  # past midnight
    assert parse_hours("0-2, 1-3,23") == (0, 1, 2, 23)  # a single hour; overlaps count once
    assert parse_hours("0-24") == tuple(range(24))
    for bad in ("", "6-6", "0-25", "24-3", "a-b", "1-2-3", "-1-3", "3-"):
        with pytest.raises(ValueError):
            parse_hours(bad)


def test_imagen_4_standard_images_are_priced_at_imagen_4_fast():
    # Imagen 4 Standard 0.04 per image, Imagen 4 Fast 0.02: 7 images save 7 × 0.02.
    result, rules = found(group("imagen-4.0-generate", unit="images", images=7, cost="0.28"))
    swap = rules["imagen-4-standard-to-fast"]
    assert (swap.model, swap.alternative, swap.operations) == ("imagen-4.0-generate", "imagen-4.0-fast-generate", 1)
    assert (swap.cost, swap.would_cost, swap.saving) == (D("0.28"), D("0.14"), D("0.14"))
    assert set(rules) == {"imagen-4-standard-to-fast"}  # not the Ultra rule
    # the preview name is the same model; Ultra steps down one tier only, not to Fast
    _, rules = found(group("imagen-4.0-generate-preview-06-06", unit="images", images=1, cost="0.04"))
    assert rules["imagen-4-standard-to-fast"].saving == D("0.02")
    _, rules = found(group("imagen-4.0-ultra-generate", unit="images", images=1, cost="0.06"))
    assert set(rules) == {"imagen-4-ultra-to-standard"}
