"""The metering step with tenant pricing: unknown models counted, rejected ones dead-lettered."""

from datetime import UTC, datetime
from decimal import Decimal

from meterstream.pricing import Pricer, TenantBook, TenantPricing, load_catalog
from meterstream.schemas import ImageUsage, Service, TokenUsage, UsageEvent, VideoUsage
from meterstream.stream import MeteringProcessor

AT = datetime(2026, 6, 1, tzinfo=UTC)
TENANTS = TenantBook(tenants={
    "strict": TenantPricing(unknown_model="reject", unpriceable_usage="reject"),
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


def test_a_resolution_the_catalog_does_not_price_is_dead_lettered_under_a_reject_policy_else_unpriced():
    def video(tenant: str, session: str) -> bytes:
        return UsageEvent(tenant_id=tenant, session_id=session, service=Service.VIDEO, model="veo-3.1-generate",
                          occurred_at=AT, usage=VideoUsage(seconds=Decimal(8), resolution="8k")).model_dump_json().encode()

    p = processor()
    rejected = p.process(video("strict", "s1"), partition=0, offset=0)
    assert rejected.status == "dead_letter" and "lists no price for video at 8k" in rejected.dead_letter.reason
    assert "tenant strict rejects usage it cannot price" in rejected.dead_letter.reason
    assert p.process(video("acme", "s2"), partition=0, offset=1).status == "unpriced"
    assert p.session_totals("s2").unpriced_operations == 1


def test_a_unit_that_does_not_fit_the_service_is_dead_lettered_naming_the_service():
    event = UsageEvent(tenant_id="acme", session_id="s1", service=Service.VIDEO, model="gemini-2.5-flash",
                       occurred_at=AT, usage=TokenUsage(input_tokens=10))
    outcome = processor().process(event.model_dump_json().encode(), partition=0, offset=0)
    assert outcome.status == "dead_letter"
    assert "service" in outcome.dead_letter.reason and "does not fit service 'video'" in outcome.dead_letter.reason
