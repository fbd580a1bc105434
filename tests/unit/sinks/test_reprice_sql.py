"""Re-pricing as data: the plan the Pricer makes and the SQL built from it (placeholders only)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterstream.pricing import Pricer, PricingError, TenantBook, TenantPricing, load_catalog
from meterstream.pricing.plan import SEPARATOR, build_plan, usage_key
from meterstream.sinks.clickhouse.reprice import DistinctUsageQuery, RepriceQuery, UsageFilter

CATALOG = load_catalog()
START, END = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
STORED = [("acme", "models/veo-3.0-generate-001", "video", ""), ("acme", "mystery-model", "tokens", ""),
          ("acme", "cloud-tts", "characters", "en-US-Studio-O")]


@pytest.mark.parametrize(("usage", "sql", "params"), [
    (UsageFilter(), "", {}),
    (UsageFilter(tenant_id="acme"), " WHERE tenant_id = {tenant_id:String}", {"tenant_id": "acme"}),
    (UsageFilter(session_id="s1", tenant_id="acme"),
     " WHERE session_id = {session_id:String} AND tenant_id = {tenant_id:String}",
     {"session_id": "s1", "tenant_id": "acme"}),
    (UsageFilter(start=START, end=END),
     " WHERE occurred_at < {end:DateTime64(6, 'UTC')} AND occurred_at >= {start:DateTime64(6, 'UTC')}",
     {"start": START, "end": END}),
])
def test_the_usage_filter_is_placeholders_in_a_deterministic_order(usage, sql, params):
    assert usage.where() == (sql, params)


def test_the_distinct_usage_query_lists_what_a_plan_must_cover():
    assert DistinctUsageQuery("meterstream", UsageFilter(tenant_id="acme")).to_sql() == (
        "SELECT DISTINCT tenant_id, model, billing_unit, voice_tier FROM meterstream.usage_events FINAL "
        "WHERE tenant_id = {tenant_id:String} ORDER BY tenant_id, model, billing_unit, voice_tier",
        {"tenant_id": "acme"},
    )


def test_a_database_name_is_never_spliced_in_unchecked():
    with pytest.raises(ValueError, match="not a database name"):
        DistinctUsageQuery("x; DROP TABLE y").to_sql()


def test_the_plan_resolves_aliases_tiers_and_unknown_models_to_rate_keys():
    plan = build_plan(Pricer(CATALOG), STORED)
    assert plan.targets == {
        usage_key("acme", "models/veo-3.0-generate-001", ""): f"*{SEPARATOR}veo-3.0-generate",
        usage_key("acme", "mystery-model", ""): "",
        usage_key("acme", "cloud-tts", "en-US-Studio-O"): f"*{SEPARATOR}cloud-tts-studio",
    }


def test_the_plan_carries_every_price_version_and_mode_with_unit_prices():
    plan = build_plan(Pricer(CATALOG), STORED[:1])
    veo = [(row.billing_mode, row.valid_from.date().isoformat(), row.valid_to.date().isoformat(), dict(row.prices))
           for row in plan.rates]
    assert veo == [
        ("standard", "2025-07-17", "2025-09-09", {"second_with_audio": Decimal("0.75")}),
        ("standard", "2025-09-09", "2299-12-31", {"second": Decimal("0.20"), "second_with_audio": Decimal("0.40")}),
    ]


def test_a_swap_prices_one_models_usage_as_anothers():
    plan = build_plan(Pricer(CATALOG), STORED[:1], swap={"veo-3.0-generate": "veo-3.0-fast-generate-001"})
    assert plan.targets[usage_key("acme", "models/veo-3.0-generate-001", "")] == f"*{SEPARATOR}veo-3.0-fast-generate"


@pytest.mark.parametrize(("swap", "complaint"), [
    ({"veo-3.0-generate": "gemini-2.5-pro"}, "different units"),
    ({"veo-3.0-generate": "veo-9"}, "'veo-9' is not in catalog"),
])
def test_a_swap_that_cannot_work_is_refused(swap, complaint):
    with pytest.raises(PricingError, match=complaint):
        build_plan(Pricer(CATALOG), STORED, swap=swap)


def test_a_tenant_with_its_own_prices_gets_its_own_rate_key_and_prices():
    pricer = Pricer(CATALOG, TenantBook(tenants={"acme": TenantPricing(adjustment_percent=-50)}))
    plan = build_plan(pricer, [("acme", "imagen-4.0-generate", "images", ""), ("beta", "imagen-4.0-generate",
                                                                            "images", "")])
    assert dict(plan.targets) == {
        usage_key("acme", "imagen-4.0-generate", ""): f"tenant acme{SEPARATOR}imagen-4.0-generate",
        usage_key("beta", "imagen-4.0-generate", ""): f"*{SEPARATOR}imagen-4.0-generate",
    }
    assert {row.rate_key: dict(row.prices)["image"] for row in plan.rates} == {
        f"tenant acme{SEPARATOR}imagen-4.0-generate": Decimal("0.02"),
        f"*{SEPARATOR}imagen-4.0-generate": Decimal("0.04"),
    }


def test_the_reprice_query_holds_no_values_only_placeholders():
    plan = build_plan(Pricer(CATALOG), STORED)
    sql, params = RepriceQuery("meterstream", plan, UsageFilter(tenant_id="acme")).to_sql()
    for value in ("acme", "veo-3.0-generate", "0.40", "mystery-model"):
        assert value not in sql
    assert "{rates:Array(Tuple(" in sql and "{target_keys:Array(String)}" in sql
    assert "FROM meterstream.usage_events FINAL WHERE tenant_id = {tenant_id:String}" in sql
    assert params["target_rates"] == [plan.targets[key] for key in params["target_keys"]]
    assert len(params["rates"]) == len(plan.rates)


def test_as_of_prices_every_row_at_one_instant_instead_of_when_it_happened():
    plan = build_plan(Pricer(CATALOG), STORED[:1])
    sql, params = RepriceQuery("meterstream", plan, as_of=START).to_sql()
    assert "{as_of:DateTime64(6, 'UTC')} AS price_at" in sql and params["as_of"] == START
    sql, _ = RepriceQuery("meterstream", plan).to_sql()
    assert "occurred_at AS price_at" in sql


def test_the_groups_query_compares_only_the_price_boundaries_inside_its_range():
    from meterstream.pricing.groups import PriceShape
    from meterstream.sinks.clickhouse.reprice import RepriceGroupsQuery

    shape = PriceShape((200_000,), (datetime(2025, 1, 1, tzinfo=UTC), START + (END - START) / 2,
                                    datetime(2027, 1, 1, tzinfo=UTC)))
    sql, params = RepriceGroupsQuery("meterstream", shape, UsageFilter(start=START, end=END)).to_sql()
    assert "toUInt32(1 + (occurred_at >= {boundary_0:DateTime64(6, 'UTC')})) AS price_period" in sql
    assert set(params) == {"start", "end", "threshold_0", "boundary_0"} and params["threshold_0"] == 200_000
    assert "FROM meterstream.usage_events FINAL WHERE" in sql
    sql, params = RepriceGroupsQuery("meterstream", shape, as_of=START).to_sql()
    assert "toUInt32(0) AS price_period" in sql and "boundary_0" not in params
