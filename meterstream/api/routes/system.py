"""Health and Prometheus metrics (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from meterstream.api.models import Health
from meterstream.api.services import ServicesDep

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz() -> Health:
    """The API process is up and serving."""
    return Health(status="ok")


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
async def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics: requests by route and status, usage events by outcome, live streams."""
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
