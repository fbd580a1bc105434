"""Money stays exact; a line is rounded half-to-even to 12 places only where it has more."""

from decimal import Decimal

import pytest

from meterstream.pricing import TenantBook, TenantPricing
from meterstream.pricing.money import line_cost
from tests.unit.pricing.builders import catalog, price, tokens

D = Decimal
# 0.0000005 per 1M tokens = 5E-13 per token: one token has 13 decimal places
TINY = catalog({"model": "tiny", "unit": "tokens", "per": 1_000_000, "effective_from": "2025-01-01",
                "prices": {"input": D("0.0000005"), "output": D("0.0000015")}})


@pytest.mark.parametrize(("input_tokens", "cost"), [
    (1, D("0.000000000000")),  # 0.0000000000005: a tie, to the even 0
    (3, D("0.000000000002")),  # 0.0000000000015: a tie, to the even 2
    (5, D("0.000000000002")),  # 0.0000000000025: a tie, to the even 2
    (7, D("0.000000000004")),  # 0.0000000000035: a tie, to the even 4
    (2, D("0.000000000001")),  # exactly 12 places: unchanged
])
def test_a_line_with_more_than_12_places_is_rounded_half_to_even(input_tokens, cost):
    priced = price("tiny", tokens(input_tokens=input_tokens), catalog=TINY)
    line = priced.lines[0]
    assert line.cost == cost and line.cost.as_tuple().exponent == -12


def test_a_line_with_12_places_or_fewer_keeps_its_exact_value_and_form():
    priced = price("gemini-2.5-flash", tokens(input_tokens=4_000))
    # 0.30 per 1M is 3.0E-7 per token (the listed digits, exactly); × 4,000, not padded to 12 places
    assert str(priced.lines[0].cost) == "0.0012000"


def test_the_total_is_the_exact_sum_of_the_rounded_lines():
    # input 3 × 5E-13 → 2E-12; output 1 × 1.5E-12 → 2E-12 (tie to even); total 4E-12, not round(3E-12)
    priced = price("tiny", tokens(input_tokens=3, output_tokens=1), catalog=TINY)
    assert [line.cost for line in priced.lines] == [D("0.000000000002"), D("0.000000000002")]
    assert priced.total_cost == D("0.000000000004")


def test_a_tenant_discount_that_adds_places_is_rounded_the_same_way():
    # 12.5% off 0.30 per 1M = 2.625E-7 per token; × 1 token = 0.0000002625 (10 places, kept as is);
    # then batch halves it to 1.3125E-7: still 11 places
    tenants = TenantBook(tenants={"acme": TenantPricing(adjustment_percent=D("-12.5"))})
    priced = price("gemini-2.5-flash", tokens(input_tokens=1), tenants=tenants, mode="batch")
    assert priced.lines[0].unit_price == D("1.3125E-7") and priced.total_cost == D("1.3125E-7")


def test_huge_quantities_do_not_lose_digits_to_the_default_decimal_context():
    # 10^12 seconds × 0.123456789012345678 has 30 significant digits: the 28-digit default context would round
    cost = line_cost(D(10) ** 12, D("0.123456789012345678"))
    assert cost == D("123456789012.345678000000")
