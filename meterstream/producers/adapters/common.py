"""What every adapter does once it has the usage: wrap it in a UsageEvent."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from meterstream.schemas import BillingMode, Service, UsageEvent


def build_event(
    usage: Any,
    *,
    model: str,
    service: Service,
    operation: str,
    tenant_id: str,
    session_id: str,
    user_id: str | None = None,
    billing_mode: BillingMode = BillingMode.STANDARD,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
    provider: str = "google",
    attributes: Mapping[str, str] | None = None,
) -> UsageEvent:
    fields: dict[str, Any] = {
        "usage": usage, "model": model, "service": service, "operation": operation, "tenant_id": tenant_id,
        "session_id": session_id, "user_id": user_id, "billing_mode": billing_mode, "provider": provider,
        "attributes": dict(attributes or {}),
    }
    if occurred_at is not None:
        fields["occurred_at"] = occurred_at
    if event_id is not None:
        fields["event_id"] = event_id
    return UsageEvent(**fields)
