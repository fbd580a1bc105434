"""Request and response bodies of the API key routes (routes/keys.py). Never a secret's hash;
the full key only in the answer that created it."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from meterstream.api.records import ApiKey

MAX_DAYS = 3650


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=128, description="What the key is for (shown in lists).")]
    expires_in_days: Annotated[int | None, Field(ge=1, le=MAX_DAYS, description="Valid for this many days.")] = None
    expires_at: Annotated[AwareDatetime | None, Field(description="Valid until then (in the future).")] = None

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        if any(unicodedata.category(ch).startswith("C") for ch in value):
            raise ValueError("must not contain control characters")
        return value


class KeyOut(BaseModel):
    key_id: str
    name: str
    created_at: datetime
    expires_at: datetime | None = Field(description="None: valid until revoked.")
    revoked_at: datetime | None
    status: Literal["active", "expired", "revoked"]
    current: bool = Field(description="Whether this is the key making the request.")

    @classmethod
    def of(cls, key: ApiKey, at: datetime, caller_key_id: str) -> KeyOut:
        return cls(key_id=key.key_id, name=key.name, created_at=key.created_at, expires_at=key.expires_at,
                   revoked_at=key.revoked_at, status=key.status(at),  # type: ignore[arg-type]
                   current=key.key_id == caller_key_id)


class KeyCreated(KeyOut):
    key: str = Field(description="The full key, `msk_<key_id>_<secret>`, for `Authorization: Bearer`. Shown only here.")


class KeyList(BaseModel):
    keys: list[KeyOut]
