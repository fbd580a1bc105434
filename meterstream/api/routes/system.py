"""Health and Prometheus metrics (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from meterstream.api.models import Health
from meterstream.api.services import ServicesDep
from meterstream.metrics import CONTENT_TYPE, exposition

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz() -> Health:
    """The API process is up and serving."""
    return Health(status="ok")


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics: requests by route and status, usage events by outcome, live streams."""
    return Response(exposition(services.metrics.registry), media_type=CONTENT_TYPE)
