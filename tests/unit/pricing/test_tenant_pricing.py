"""Per-tenant pricing: adjustments, custom prices and the unknown-model policies."""

from decimal import Decimal

import pytest

from meterstream.pricing import (
    CatalogError,
    Pricer,
    TenantBook,
    TenantPricing,
    UnknownModelPolicy,
    UnknownModelRejected,
    load_tenants,
)
from meterstream.schemas import ImageUsage, PricingStatus, VideoUsage
from tests.unit.pricing.builders import DEFAULT, costs, price, tokens

D = Decimal
FLASH_CALL = tokens(input_tokens=10_000, output_tokens=2_000)  # list: 10,000 × 0.30 + 2,000 × 2.50 = 0.003 + 0.005


def book(**pricing) -> TenantBook:
    return TenantBook(tenants={"acme": TenantPricing(**pricing)})


def test_a_percentage_discount_scales_every_list_price():
    # 10% off: 0.003 × 0.9 = 0.0027; 0.005 × 0.9 = 0.0045
    priced = price("gemini-2.5-flash", FLASH_CALL, tenants=book(adjustment_percent=-10))
    assert costs(priced) == {"input": D("0.0027"), "output": D("0.0045")}
    assert "tenant acme: 10% discount on list prices" in priced.rules


def test_a_markup_raises_list_prices():
    # 15% markup on 3 Imagen 4 images: 3 × 0.04 × 1.15 = 0.138
    priced = price("imagen-4.0-generate", ImageUsage(images=3), tenants=book(adjustment_percent=15))
    assert priced.total_cost == D("0.138")


def test_tenants_without_pricing_pay_list_prices():
    priced = price("gemini-2.5-flash", FLASH_CALL, tenant="globex", tenants=book(adjustment_percent=-10))
    assert priced.total_cost == D("0.008")


def test_custom_prices_replace_list_prices_and_are_not_discounted_again():
    # output at a negotiated 2.00 per 1M: 2,000 × 2.00 = 0.004; input at list minus 10%: 0.0027
    tenants = book(adjustment_percent=-10, custom_prices={"models/gemini-2.5-flash": {"output": D("2.00")}})
    assert costs(price("gemini-2.5-flash", FLASH_CALL, tenants=tenants)) == {"input": D("0.0027"), "output": D("0.004")}


def test_custom_prices_still_follow_the_batch_rule():
    # negotiated output 2.00 per 1M, halved in batch: 2,000 × 1.00 = 0.002; input 10,000 × 0.15 = 0.0015
    tenants = book(custom_prices={"gemini-2.5-flash": {"output": D("2.00")}})
    assert price("gemini-2.5-flash", FLASH_CALL, tenants=tenants, mode="batch").total_cost == D("0.0035")


def test_custom_prices_apply_in_the_long_context_tier_too():
    # 250,000 input tokens at a flat negotiated 1.00 per 1M = 0.25; output keeps the long rate 15.00: 0.015
    tenants = book(custom_prices={"gemini-2.5-pro": {"input": D("1.00")}})
    priced = price("gemini-2.5-pro", tokens(input_tokens=250_000, output_tokens=1_000), tenants=tenants)
    assert costs(priced) == {"input": D("0.25"), "output": D("0.015")}


def test_unknown_models_are_unpriced_by_default():
    priced = price("acme-finetune-7", FLASH_CALL, tenants=book())
    assert priced.status is PricingStatus.UNPRICED
    assert "not in catalog" in priced.reason


def test_the_fallback_policy_prices_an_unknown_model_as_the_named_model_of_its_unit():
    tenants = book(unknown_model=UnknownModelPolicy.FALLBACK,
                   fallback_models=("gemini-2.5-flash", "imagen-4.0-fast-generate"))
    text = price("acme-finetune-7", FLASH_CALL, tenants=tenants)
    image = price("acme-image-model", ImageUsage(images=2), tenants=tenants)
    assert (text.status, text.priced_as, text.total_cost) == (PricingStatus.PRICED, "gemini-2.5-flash", D("0.008"))
    assert (image.priced_as, image.total_cost) == ("imagen-4.0-fast-generate", D("0.04"))
    assert text.rules[0].startswith("model 'acme-finetune-7' is not in the catalog: priced as gemini-2.5-flash")


def test_the_fallback_policy_without_a_fallback_for_the_unit_leaves_the_usage_unpriced():
    tenants = book(unknown_model=UnknownModelPolicy.FALLBACK, fallback_models=("gemini-2.5-flash",))
    assert price("acme-video", VideoUsage(seconds=D(4)), tenants=tenants).status is PricingStatus.UNPRICED


def test_the_reject_policy_raises_so_the_stream_can_dead_letter_the_event():
    tenants = book(unknown_model=UnknownModelPolicy.REJECT)
    with pytest.raises(UnknownModelRejected, match="tenant acme rejects unknown models"):
        price("acme-finetune-7", FLASH_CALL, tenants=tenants)


def test_the_reject_policy_does_not_touch_known_models():
    assert price("gemini-2.5-flash", FLASH_CALL, tenants=book(unknown_model="reject")).total_cost == D("0.008")


def test_the_default_section_applies_to_unlisted_tenants():
    tenants = TenantBook(default=TenantPricing(unknown_model=UnknownModelPolicy.REJECT))
    with pytest.raises(UnknownModelRejected):
        price("mystery", FLASH_CALL, tenant="anyone", tenants=tenants)


@pytest.mark.parametrize(("pricing", "complaint"), [
    ({"custom_prices": {"no-such-model": {"input": D(1)}}}, "'no-such-model' is not in the catalog"),
    ({"custom_prices": {"gemini-2.5-flash": {"image": D(1)}}}, "not a valid tokens price"),
    ({"unknown_model": "fallback"}, "needs fallback_models"),
    ({"unknown_model": "fallback", "fallback_models": ("gemini-2.5-flash", "gemini-2.5-pro")}, "two fallback"),
])
def test_tenant_pricing_that_does_not_fit_the_catalog_is_refused(pricing, complaint):
    with pytest.raises(CatalogError, match=complaint):
        Pricer(DEFAULT, book(**pricing))


def test_a_tenant_pricing_file_is_read_from_toml(tmp_path):
    path = tmp_path / "tenants.toml"
    path.write_text(
        '[default]\nunknown_model = "unpriced"\n\n'
        '[tenants.acme]\nadjustment_percent = -12.5\nunknown_model = "fallback"\n'
        'fallback_models = ["gemini-2.5-flash"]\n\n'
        '[tenants.acme.custom_prices."gemini-2.5-pro"]\noutput = 8.00\n'
    )
    tenants = load_tenants(path)
    acme = tenants.get("acme")
    assert (acme.adjustment_percent, acme.unknown_model) == (D("-12.5"), UnknownModelPolicy.FALLBACK)
    assert acme.custom_prices == {"gemini-2.5-pro": {"output": D("8.00")}}
    assert tenants.get("other") == TenantPricing()


def test_a_broken_tenant_pricing_file_names_the_file(tmp_path):
    path = tmp_path / "tenants.toml"
    path.write_text("[tenants.acme]\nadjustment_percent = 'a lot'\n")
    with pytest.raises(CatalogError, match="tenants.toml"):
        load_tenants(path)
