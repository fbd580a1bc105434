"""The price catalog: versioned entries read from JSON files shipped inside the package."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field


class PriceEntry(BaseModel):
    """The prices of one model, in one currency, from `effective_from` on."""

    model_config = ConfigDict(frozen=True)

    model: str
    unit: str
    per: int = Field(gt=0)
    effective_from: date
    prices: dict[str, Decimal]
    source: str
    read_on: date

    def unit_price(self, component: str) -> Decimal | None:
        price = self.prices.get(component)
        return None if price is None else price / self.per


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: str
    currency: str
    entries: tuple[PriceEntry, ...]

    def entry_for(self, model: str, at: datetime) -> PriceEntry | None:
        """The newest entry for `model` already in effect at `at`."""
        day = at.date()
        effective = [e for e in self.entries if e.model == model and e.effective_from <= day]
        return max(effective, key=lambda e: e.effective_from, default=None)


def load_catalog(name: str = "default") -> Catalog:
    text = resources.files("meterstream.pricing").joinpath("catalogs", f"{name}.json").read_text()
    return Catalog.model_validate(json.loads(text))
