"""Alerts and webhooks: the tenant's alert feed (JSON and server-sent events), its webhooks
and each webhook's delivery log. Delivery itself runs beside the API (meterstream/alerts).

Webhooks are shared by every API host (a topic); the feed is this host's copy of the whole
alerts topic; the delivery log holds the deliveries this host made (its share of the alerts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sse_starlette import EventSourceResponse

from meterstream.api.alert_models import AlertList, DeliveryList, DeliveryOut, WebhookCreate, WebhookCreated, \
    WebhookList, WebhookOut
from meterstream.api.auth import CallerDep
from meterstream.api.errors import WebhookNotFound
from meterstream.api.routes.common import blocking, problems
from meterstream.api.services import ServicesDep

router = APIRouter(tags=["alerts"])

WebhookIdPath = Annotated[str, Path(min_length=1, max_length=128)]
FEED_POLL_SECONDS = 0.2


@router.post("/v1/webhooks", status_code=status.HTTP_201_CREATED, responses=problems())
async def create_webhook(body: WebhookCreate, caller: CallerDep, services: ServicesDep) -> WebhookCreated:
    """Register a URL for the tenant's alerts. The answer holds the signing secret, shown this once."""
    webhook, secret = await blocking(services.webhooks.create_webhook, caller.tenant_id, body.url, body.description)
    return WebhookCreated(**WebhookOut.of(webhook).model_dump(), secret=secret)


@router.get("/v1/webhooks", responses=problems())
async def list_webhooks(caller: CallerDep, services: ServicesDep) -> WebhookList:
    """The tenant's active webhooks (never their secrets)."""
    return WebhookList(webhooks=[WebhookOut.of(w) for w in await blocking(services.webhooks.list_webhooks,
                                                                          caller.tenant_id)])


@router.delete("/v1/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=problems(404))
async def delete_webhook(webhook_id: WebhookIdPath, caller: CallerDep, services: ServicesDep) -> Response:
    """Stop sending to a webhook; its pending deliveries fail. Deleting it again changes nothing."""
    if await blocking(services.webhooks.delete_webhook, webhook_id, caller.tenant_id) is None:
        raise WebhookNotFound(webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/webhooks/{webhook_id}/deliveries", responses=problems(404))
async def webhook_deliveries(webhook_id: WebhookIdPath, caller: CallerDep, services: ServicesDep,
                             limit: Annotated[int, Query(ge=1, le=500)] = 100) -> DeliveryList:
    """The delivery log: per alert, newest first, its state and every try (when, what came back)."""
    if await blocking(services.webhooks.get_webhook, webhook_id, caller.tenant_id) is None:
        raise WebhookNotFound(webhook_id)
    deliveries = await blocking(services.alerts.deliveries, webhook_id, limit)
    return DeliveryList(deliveries=[DeliveryOut.of(d) for d in deliveries])


@router.get("/v1/alerts", responses=problems())
async def list_alerts(caller: CallerDep, services: ServicesDep,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50) -> AlertList:
    """The tenant's alerts, newest first."""
    stored = await blocking(services.alerts.list_alerts, caller.tenant_id, limit)
    return AlertList(alerts=[a.record for a in stored])


@router.get(
    "/v1/alerts/events",
    response_class=EventSourceResponse,
    responses={**problems(), 200: {
        "description": "Server-sent events: `alert` (AlertRecord JSON) for every new alert of the tenant.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }},
)
async def alert_events(caller: CallerDep, services: ServicesDep) -> EventSourceResponse:
    """Push each new alert of the tenant from now on."""
    start = await blocking(services.alerts.last_seq)

    async def stream() -> AsyncIterator[dict[str, str]]:
        seq = start
        while True:
            for alert in await blocking(services.alerts.alerts_after, seq, caller.tenant_id):
                seq = alert.seq
                yield {"event": "alert", "id": alert.record.alert_id, "data": alert.record.model_dump_json()}
            await asyncio.sleep(FEED_POLL_SECONDS)

    return EventSourceResponse(stream(), ping=15)
