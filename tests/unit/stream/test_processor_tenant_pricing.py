"""The metering step with tenant pricing: unknown models counted, rejected ones dead-lettered."""

from datetime import UTC, datetime
from decimal import Decimal

from meterstream.pricing import Pricer, TenantBook, TenantPricing, load_catalog
from meterstream.schemas import ImageUsage, Service, UsageEvent
from meterstream.stream import MeteringProcessor

AT = datetime(2026, 6, 1, tzinfo=UTC)
TENANTS = TenantBook(tenants={
    "strict": TenantPricing(unknown_model="reject"),
    "vip": TenantPricing(adjustment_percent=-25),
})


def processor() -> MeteringProcessor:
    return MeteringProcessor(Pricer(load_catalog(), TENANTS), sessions={}, seen={}, topic="usage.events")


def raw(model: str, tenant: str, session: str = "s1", images: int = 2) -> bytes:
    return UsageEvent(tenant_id=tenant, session_id=session, service=Service.IMAGE, model=model, occurred_at=AT,
                      usage=ImageUsage(images=images)).model_dump_json().encode()


def test_an_unknown_model_is_counted_in_the_session_as_unpriced_not_as_zero_cost():
    p = processor()
    outcome = p.process(raw("imagen-99", "acme"), partition=0, offset=0)
    assert outcome.status == "unpriced"
    totals = p.session_totals("s1")
    assert (totals.operations, totals.unpriced_operations, totals.images) == (1, 1, 2)


def test_an_unknown_model_under_a_reject_policy_goes_to_the_dlq_and_leaves_no_state():
    p = processor()
    outcome = p.process(raw("imagen-99", "strict"), partition=0, offset=0)
    assert outcome.status == "dead_letter"
    assert "tenant strict rejects unknown models" in outcome.dead_letter.reason
    assert p.session_totals("s1") is None and p.seen == {}


def test_the_tenants_discount_reaches_the_session_totals():
    p = processor()
    p.process(raw("imagen-4.0-generate", "vip", images=4), partition=0, offset=0)
    assert p.session_totals("s1").total_cost == Decimal("0.12")  # 4 × 0.04 × 0.75
