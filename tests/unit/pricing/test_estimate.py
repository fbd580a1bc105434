"""Estimates: the cost of a planned call, before it is made, by the same rules as billing."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterstream.cli import main
from meterstream.pricing import Pricer, TenantBook, TenantPricing, UnknownModelRejected, estimate
from meterstream.schemas import BillingMode, PricingStatus, TokenUsage
from tests.unit.pricing.builders import DEFAULT, NOW, event

D = Decimal


def test_an_estimate_prices_planned_usage_like_the_stream_prices_the_real_call():
    planned = TokenUsage(input_tokens=250_000, cached_input_tokens=50_000, output_tokens=1_000, thinking_tokens=500)
    result = estimate("gemini-2.5-pro", planned, pricer=Pricer(DEFAULT), at=NOW)
    billed = Pricer(DEFAULT).price(event("gemini-2.5-pro", planned))
    # long context: 200,000 × 2.50 + 50,000 × 0.25 + 1,500 × 15.00, per 1M = 0.5 + 0.0125 + 0.0225
    assert result.total_cost == billed.total_cost == D("0.535")
    assert result.lines == billed.lines and result.rules == billed.rules


def test_planned_quantities_can_be_plain_numbers_and_the_unit_follows_from_them():
    result = estimate("veo-3.1-fast-generate", {"seconds": 8, "resolution": "4k"}, catalog=DEFAULT, at=NOW)
    assert (result.priced_as, result.total_cost) == ("veo-3.1-fast-generate", D("2.40"))  # 8 × 0.30


def test_an_estimate_applies_the_tenants_pricing_and_billing_mode():
    pricer = Pricer(DEFAULT, TenantBook(tenants={"acme": TenantPricing(adjustment_percent=-20)}))
    result = estimate("gemini-2.5-flash", {"input_tokens": 10_000, "output_tokens": 2_000}, "acme", pricer=pricer,
                      at=NOW, billing_mode=BillingMode.BATCH)
    # batch halves list: 10,000 × 0.15 + 2,000 × 1.25 = 0.004; 20% off = 0.0032
    assert result.total_cost == D("0.0032")


def test_an_estimate_for_an_unknown_model_says_it_is_unpriced():
    result = estimate("gemini-9", {"input_tokens": 10}, catalog=DEFAULT)
    assert result.status is PricingStatus.UNPRICED and "not in catalog" in result.reason
    assert result.total_cost is None  # unknown, never 0


def test_the_estimate_command_says_null_for_the_cost_it_cannot_know(capsys):
    code, out = run_cli(capsys, "estimate", "unknown-model", "--images", "2", "--json")
    assert code == 5 and json.loads(out)["total_cost"] is None


def test_an_estimate_under_a_reject_policy_raises():
    pricer = Pricer(DEFAULT, TenantBook(tenants={"acme": TenantPricing(unknown_model="reject")}))
    with pytest.raises(UnknownModelRejected):
        estimate("gemini-9", {"input_tokens": 10}, "acme", pricer=pricer)


def test_an_estimate_at_a_past_date_uses_that_dates_prices():
    result = estimate("veo-3.0-generate", {"seconds": 8}, catalog=DEFAULT, at=datetime(2025, 8, 1, tzinfo=UTC))
    assert result.total_cost == D("6.00")  # the launch price, 8 × 0.75


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    return exit_.value.code, capsys.readouterr().out


def test_the_estimate_command_prints_the_breakdown_as_json(capsys):
    code, out = run_cli(capsys, "estimate", "models/gemini-2.5-flash-001", "--input-tokens", "10000",
                        "--cached-input-tokens", "4000", "--output-tokens", "1000", "--json")
    result = json.loads(out)
    assert code == 0
    assert result["priced_as"] == "gemini-2.5-flash"
    assert D(result["total_cost"]) == D("0.00442")  # 6,000 × 0.30 + 4,000 × 0.03 + 1,000 × 2.50, per 1M
    assert [line["component"] for line in result["lines"]] == ["input", "cached_input", "output"]


def test_the_estimate_command_prints_a_table(capsys):
    code, out = run_cli(capsys, "estimate", "cloud-tts", "--characters", "2500", "--voice-tier", "chirp3-hd",
                        "--at", "2026-06-01")
    assert code == 0
    assert "cloud-tts-chirp3-hd" in out and "0.07500" in out  # 2,500 × 30 / 1M


def test_the_estimate_command_exits_non_zero_when_it_cannot_price(capsys):
    code, out = run_cli(capsys, "estimate", "unknown-model", "--images", "2")
    assert code == 5 and "unpriced" in out


def test_the_estimate_command_refuses_quantities_of_two_units(capsys):
    code, _ = run_cli(capsys, "estimate", "gemini-2.5-flash", "--input-tokens", "5", "--voice-tier", "studio")
    assert code == 2
