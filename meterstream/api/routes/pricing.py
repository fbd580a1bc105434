"""Prices: the catalog in force and the cost of a planned operation."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from meterstream.api.auth import CallerDep
from meterstream.api.errors import InvalidRequest
from meterstream.api.models import CostLineOut, EstimateIn, EstimateOut, LongContextOut, PriceOut, PricingOut
from meterstream.api.pricing import ESTIMATE_SESSION
from meterstream.api.routes.common import problems
from meterstream.api.services import ServicesDep
from meterstream.errors import InvalidUsageEvent
from meterstream.pricing import PriceEntry, UsageRejected
from meterstream.schemas import PricingStatus, parse_usage_event

router = APIRouter(prefix="/v1", tags=["pricing"])


@router.post("/estimate", responses=problems())
async def estimate(body: EstimateIn, caller: CallerDep, services: ServicesDep) -> EstimateOut:
    """What a planned operation would cost the caller's tenant, with the prices in force when it would run."""
    try:
        planned = parse_usage_event({
            **body.model_dump(exclude_none=True), "tenant_id": caller.tenant_id, "session_id": ESTIMATE_SESSION,
        })
    except InvalidUsageEvent as error:
        raise InvalidRequest(error.errors) from None
    try:
        priced = services.pricing.estimate(planned)
    except UsageRejected as error:
        # The stream would dead-letter this usage; say so before it is sent.
        raise InvalidRequest([{"field": error.field, "reason": str(error)}]) from None
    unpriced = priced.status is PricingStatus.UNPRICED
    return EstimateOut(
        status=priced.status.value, model=planned.model, total_cost=None if unpriced else priced.total_cost,
        currency=priced.currency,
        lines=[CostLineOut.model_validate(line.model_dump()) for line in priced.lines],
        catalog_version=priced.catalog_version, reason=priced.reason,
    )


# Text-to-Speech entries are named `cloud-tts-<tier>`; an event's voice tier picks one (catalog.py).
TTS_PREFIX = "cloud-tts-"


def voice_tier(entry: PriceEntry) -> str | None:
    return entry.model.removeprefix(TTS_PREFIX) if entry.unit == "characters" and \
        entry.model.startswith(TTS_PREFIX) else None


@router.get("/pricing", responses=problems())
async def pricing(caller: CallerDep, services: ServicesDep) -> PricingOut:
    """The price catalog: each model's billing unit and prices, their source and effective date."""
    catalog = services.pricing.catalog
    now = datetime.now(UTC)
    return PricingOut(catalog_version=catalog.version, currency=catalog.currency, prices=[
        PriceOut(
            model=entry.model, billing_unit=entry.unit, per=entry.per, prices=entry.prices,
            long_context=None if entry.long_context is None else LongContextOut(
                above_tokens=entry.long_context.above_tokens, prices=entry.long_context.prices),
            batch_factor=entry.batch_factor, free_tier=entry.free_tier, voice_tier=voice_tier(entry),
            currency=catalog.currency, source=entry.source, effective_from=entry.effective_from.isoformat(),
            read_on=entry.read_on.isoformat(), in_force=catalog.entry_for(entry.model, now) == entry,
        )
        for entry in services.pricing.entries()
    ])
