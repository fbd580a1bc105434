"""Request and response bodies of the alert and webhook routes (routes/alerts.py).

Alerts themselves are `AlertRecord`s (meterstream/schemas/alerts.py), money as decimal strings.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from meterstream.alerts.store import Delivery, Webhook
from meterstream.schemas.alerts import AlertRecord


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=2048,
                              description="An http or https URL; alerts are POSTed to it, redirects are not followed.")]
    description: Annotated[str, Field(max_length=256)] = ""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in value):
            raise ValueError("must not contain spaces or control characters")
        try:
            parts = urlsplit(value)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a port out of range
            httpx.URL(value)
        except (ValueError, httpx.InvalidURL) as error:
            raise ValueError(f"not a valid URL: {error}") from None
        if parts.scheme not in ("http", "https") or not host:
            raise ValueError("must be an http or https URL with a host")
        return value


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    description: str
    created_at: datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls(webhook_id=webhook.webhook_id, url=webhook.url, description=webhook.description,
                   created_at=webhook.created_at)


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (Standard Webhooks, `whsec_…`). Shown only here.")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class DeliveryTry(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    response_body: str = Field(description="The first 500 characters of the answer.")


class DeliveryOut(BaseModel):
    alert_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    tries: list[DeliveryTry]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            alert_id=delivery.alert_id, status=delivery.status,  # type: ignore[arg-type]
            attempts=delivery.attempts, last_status_code=delivery.last_status_code, last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
            next_attempt_at=delivery.next_attempt_at if delivery.status == "pending" else None,
            tries=[DeliveryTry(at=t.at, status_code=t.status_code, error=t.error, duration_ms=t.duration_ms,
                               response_body=t.response_body) for t in delivery.tries],
        )


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class AlertList(BaseModel):
    alerts: list[AlertRecord]
