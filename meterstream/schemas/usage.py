"""The usage event: one model call, as services emit it onto `usage.events`."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1
# Events stamped further ahead than this are clock errors, not usage to bill.
MAX_CLOCK_SKEW = timedelta(hours=1)
MAX_QUANTITY = 10**12

Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@/+-]+$")]


class Service(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    SPEECH = "speech"
    AUDIO = "audio"
    EMBEDDING = "embedding"
    OTHER = "other"


class BillingMode(StrEnum):
    STANDARD = "standard"
    BATCH = "batch"
    FREE = "free"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenUsage(_Strict):
    """Token counts as Gemini reports them: `input_tokens` includes cached and audio input.

    The parts are subsets, the way `usage_metadata` reports them: `cached_input_tokens` and
    `audio_input_tokens` are parts of `input_tokens`; `cached_audio_input_tokens` is the audio
    part of the cached tokens; `image_output_tokens` is the image part of `output_tokens`
    (native image output). `thinking_tokens` and `tool_use_prompt_tokens` come on top.
    """

    unit: Literal["tokens"] = "tokens"
    input_tokens: Quantity = 0
    output_tokens: Quantity = 0
    cached_input_tokens: Quantity = 0
    thinking_tokens: Quantity = 0
    audio_input_tokens: Quantity = 0
    tool_use_prompt_tokens: Quantity = 0
    cached_audio_input_tokens: Quantity = 0
    image_output_tokens: Quantity = 0

    @model_validator(mode="after")
    def _parts_within_input(self) -> TokenUsage:
        if self.cached_input_tokens > self.input_tokens:
            raise ValueError("cached_input_tokens cannot exceed input_tokens (the prompt count includes cached tokens)")
        if self.audio_input_tokens > self.input_tokens:
            raise ValueError("audio_input_tokens cannot exceed input_tokens (the prompt count includes audio tokens)")
        if self.cached_audio_input_tokens > min(self.cached_input_tokens, self.audio_input_tokens):
            raise ValueError("cached_audio_input_tokens is part of both cached_input_tokens and audio_input_tokens")
        if self.image_output_tokens > self.output_tokens:
            raise ValueError("image_output_tokens cannot exceed output_tokens (they are part of them)")
        return self


class ImageUsage(_Strict):
    unit: Literal["images"] = "images"
    images: Quantity
    resolution: str | None = Field(default=None, max_length=32)


class VideoUsage(_Strict):
    unit: Literal["video"] = "video"
    seconds: Annotated[Decimal, Field(ge=0, le=MAX_QUANTITY, max_digits=18, decimal_places=6)]
    with_audio: bool = True
    resolution: str = Field(default="720p", max_length=32)


class CharacterUsage(_Strict):
    unit: Literal["characters"] = "characters"
    characters: Quantity
    voice_tier: str | None = Field(default=None, max_length=32)


Usage = Annotated[Union[TokenUsage, ImageUsage, VideoUsage, CharacterUsage], Field(discriminator="unit")]

# The services each usage unit can be measured for. Tokens are how Gemini bills text, native
# image output, speech generation, audio and embeddings, but never generated video (Veo bills
# seconds); images are Imagen's; seconds of video are Veo's; characters are Cloud TTS's.
# `other` takes any unit. A unit outside its services is a producer's mistake, refused alike
# by the API (422 naming `service`) and the stream (dead-lettered).
SERVICES_OF_UNIT: dict[str, frozenset[Service]] = {
    "tokens": frozenset(Service) - {Service.VIDEO},
    "images": frozenset({Service.IMAGE, Service.OTHER}),
    "video": frozenset({Service.VIDEO, Service.OTHER}),
    "characters": frozenset({Service.SPEECH, Service.AUDIO, Service.OTHER}),
}


def unit_misfit(service: Service, unit: str) -> str | None:
    """Why usage measured in `unit` cannot be `service` usage, or None when it fits."""
    if service in SERVICES_OF_UNIT[unit]:
        return None
    fits = ", ".join(sorted(s.value for s in SERVICES_OF_UNIT[unit]))
    return f"usage in {unit} does not fit service '{service.value}' (it fits {fits})"


class UsageEvent(_Strict):
    """One metered model call. `event_id` is the idempotency key: re-sending it is harmless."""

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    tenant_id: Identifier
    session_id: Identifier
    user_id: Identifier | None = None
    service: Service
    operation: str = Field(default="generate", min_length=1, max_length=64)
    provider: str = Field(default="google", min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=128)
    billing_mode: BillingMode = BillingMode.STANDARD
    usage: Usage
    attributes: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]] = Field(
        default_factory=dict, max_length=32
    )
    # The reservation this call was granted (POST /v1/reservations): its event settles it.
    reservation_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    # The API key that recorded the event (set by the API, for budgets scoped to a key).
    api_key_id: Identifier | None = None

    @field_validator("occurred_at")
    @classmethod
    def _utc_and_not_in_future(cls, value: datetime) -> datetime:
        value = value.astimezone(UTC)
        if value > datetime.now(UTC) + MAX_CLOCK_SKEW:
            raise ValueError(f"occurred_at is more than {MAX_CLOCK_SKEW} in the future")
        return value


# What an event says, for telling a re-send from a conflict: every field but the ones a retry
# may legitimately change (when it was stamped, which of the tenant's keys sent it).
_NOT_CONTENT = frozenset({"occurred_at", "api_key_id", "schema_version"})


def content_fingerprint(event: UsageEvent) -> str:
    """A short hash of what the event says. The same `event_id` sent again with another
    fingerprint is a conflicting duplicate: the first one counts, the other is not the same
    usage repeated (the stream counts it apart, the API refuses it with 409 when it can tell)."""
    body = event.model_dump_json(exclude=_NOT_CONTENT).encode()
    return hashlib.blake2b(body, digest_size=8).hexdigest()
