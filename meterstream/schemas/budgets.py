"""Budgets: what a tenant may spend, on what, per period, and what happens at the limit."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from meterstream.schemas.usage import Identifier, Service

DEFAULT_THRESHOLDS = (Decimal(50), Decimal(80), Decimal(100))
MAX_THRESHOLD = Decimal(1000)

Percent = Annotated[Decimal, Field(gt=0, le=MAX_THRESHOLD, max_digits=8, decimal_places=4)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=24, decimal_places=12)]


class ScopeKind(StrEnum):
    TENANT = "tenant"
    USER = "user"
    SESSION = "session"
    API_KEY = "api_key"
    ATTRIBUTE = "attribute"


class BudgetPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks: Monday 00:00 UTC to the next Monday
    MONTH = "month"
    LIFETIME = "lifetime"


class BudgetAction(StrEnum):
    NOTIFY = "notify"  # alerts only
    BLOCK = "block"  # alerts, and reservations that would pass the limit are refused


class BudgetScope(BaseModel):
    """Which usage a budget counts: the tenant's, or one user's, session's, API key's or
    attribute value's (`attribute=project`, `value=launch`), optionally only one service or model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ScopeKind = ScopeKind.TENANT
    value: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    attribute: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    service: Service | None = None
    model: Annotated[str, Field(min_length=1, max_length=128)] | None = None

    @model_validator(mode="after")
    def _value_fits_kind(self) -> BudgetScope:
        if self.kind is ScopeKind.TENANT:
            if self.value is not None or self.attribute is not None:
                raise ValueError("a tenant-wide scope takes no value or attribute")
        elif self.value is None:
            raise ValueError(f"a {self.kind.value} scope needs a value (the {self.kind.value} it counts)")
        if (self.kind is ScopeKind.ATTRIBUTE) != (self.attribute is not None):
            raise ValueError("attribute is required for an attribute scope and only there")
        return self


class UsageFacts(BaseModel):
    """What a budget's scope is matched against: the facts of one usage event or planned call."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    user_id: str | None = None
    api_key_id: str | None = None
    service: str
    model: str
    attributes: dict[str, str] = Field(default_factory=dict)


def scope_applies(scope: BudgetScope, facts: UsageFacts) -> bool:
    if scope.service is not None and scope.service.value != facts.service:
        return False
    if scope.model is not None and scope.model != facts.model:
        return False
    match scope.kind:
        case ScopeKind.TENANT:
            return True
        case ScopeKind.USER:
            return facts.user_id == scope.value
        case ScopeKind.SESSION:
            return facts.session_id == scope.value
        case ScopeKind.API_KEY:
            return facts.api_key_id == scope.value
        case ScopeKind.ATTRIBUTE:
            return facts.attributes.get(scope.attribute or "") == scope.value
    return False


class BudgetDefinition(BaseModel):
    """One budget as stored; `revision` grows with every change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget_id: Identifier
    tenant_id: Identifier
    name: Annotated[str, Field(min_length=1, max_length=128)]
    scope: BudgetScope = BudgetScope()
    period: BudgetPeriod = BudgetPeriod.MONTH
    limit: Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "USD"
    thresholds: tuple[Percent, ...] = DEFAULT_THRESHOLDS
    action: BudgetAction = BudgetAction.NOTIFY
    revision: int = Field(default=1, ge=1)
    created_at: AwareDatetime
    updated_at: AwareDatetime

    @field_validator("thresholds")
    @classmethod
    def _sorted_unique(cls, value: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
        if not value:
            raise ValueError("at least one threshold")
        if len(value) > 10:
            raise ValueError("at most 10 thresholds")
        return tuple(sorted(set(value)))


def threshold_key(threshold: Decimal) -> str:
    """A threshold as the text key it is stored under: 50 -> '50', 12.5 -> '12.5'."""
    text = format(threshold.normalize(), "f")
    return text


def utc_text(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
