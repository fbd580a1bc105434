"""One catalog entry: the prices of one model, in one currency, for one period of time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Unit = Literal["tokens", "images", "video", "characters"]

# The priced components of each billing unit. Video and image components may carry a
# resolution variant after '@' ("second@4k", "image@2k"), looked up before the plain one.
TOKEN_COMPONENTS = ("input", "audio_input", "cached_input", "cached_audio_input", "output", "image_output")
COMPONENTS: dict[str, tuple[str, ...]] = {
    "tokens": TOKEN_COMPONENTS,
    "images": ("image",),
    "video": ("second", "second_with_audio"),
    "characters": ("character",),
}
CACHE_COMPONENTS = frozenset({"cached_input", "cached_audio_input"})
# The video resolutions a plain per-second price ("second", "second_with_audio") covers: the
# ones Veo prices alike (720p and 1080p, as published). Any other resolution (4k, 8k) is
# priced only by a variant the entry lists ("second@4k"); without one the event is unpriced.
BASE_VIDEO_RESOLUTIONS = frozenset({"720p", "1080p"})
LINE_UNITS = {"tokens": "token", "images": "image", "video": "second", "characters": "character"}

Price = Decimal


class LongContext(BaseModel):
    """Prices for requests whose prompt exceeds `above_tokens` (the whole request, not the excess)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    above_tokens: int = Field(gt=0)
    prices: dict[str, Price]


class PriceEntry(BaseModel):
    """The prices of one model from `effective_from` (inclusive, 00:00 UTC) to `effective_to` (exclusive).

    Prices are per `per` units (1,000,000 tokens, 1 image, 1 second, 1,000,000 characters).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1)
    unit: Unit
    per: int = Field(default=1, gt=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    effective_from: date
    effective_to: date | None = None
    prices: dict[str, Price]
    long_context: LongContext | None = None
    batch_factor: Decimal | None = Field(
        default=None, gt=0, le=1, description="Batch price = factor × standard price (cache prices unchanged)."
    )
    free_tier: bool = False
    cache_storage_per_hour: Price | None = Field(
        default=None, description="Explicit-cache storage per `per` tokens per hour (informational: not per event)."
    )
    source: str = Field(min_length=1)
    read_on: date
    confirmed: bool = False
    evidence: str = ""
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> PriceEntry:
        where = f"{self.model} from {self.effective_from}"
        if self.per != 10 ** (len(str(self.per)) - 1):
            raise ValueError(f"{where}: per must be a power of ten (so unit prices stay exact), not {self.per}")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError(f"{where}: effective_to must be after effective_from")
        tables = [self.prices] + ([self.long_context.prices] if self.long_context else [])
        for table in tables:
            for component, price in table.items():
                if component.split("@", 1)[0] not in COMPONENTS[self.unit]:
                    raise ValueError(f"{where}: '{component}' is not a {self.unit} component {COMPONENTS[self.unit]}")
                if price < 0 or not price.is_finite():
                    raise ValueError(f"{where}: price of '{component}' must be a finite number >= 0")
        if self.unit == "tokens":
            missing = {"input", "output"} - self.prices.keys()
            if missing:
                raise ValueError(f"{where}: a token entry needs input and output prices (missing {sorted(missing)})")
            if {"audio_input", "cached_input"} <= self.prices.keys() and "cached_audio_input" not in self.prices:
                raise ValueError(f"{where}: with audio and cache prices, cached_audio_input must be priced too")
        elif self.long_context is not None:
            raise ValueError(f"{where}: long-context prices apply to token entries only")
        return self
