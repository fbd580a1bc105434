"""UsageEvents from google-genai SDK objects (read by attribute; the SDK is not imported).

    response = client.models.generate_content(model="gemini-2.5-flash", contents=...)
    emitter.emit(event_from_generate_content(response, tenant_id="acme", session_id=sid))

Token counts follow the SDK's `usage_metadata`: `prompt_token_count` includes cached
tokens, `candidates_token_count` excludes thinking (`thoughts_token_count`), and the
per-modality lists split audio input, cached audio and image output. Imagen bills per
image returned; Veo per second generated, and the response carries no duration, so the
seconds come from the request's `GenerateVideosConfig` (duration × videos returned).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from meterstream.producers.adapters.common import build_event
from meterstream.producers.adapters.errors import AdapterError
from meterstream.schemas import ImageUsage, Service, TokenUsage, UsageEvent, VideoUsage


def _modality(detail: Any) -> str:
    modality = getattr(detail, "modality", None)
    return str(getattr(modality, "value", modality) or "").upper()


def _tokens_of(details: Any, modality: str) -> int:
    return sum(getattr(d, "token_count", None) or 0 for d in details or () if _modality(d) == modality)


def token_usage_from_metadata(usage_metadata: Any) -> TokenUsage:
    """A TokenUsage from `GenerateContentResponse.usage_metadata`."""
    if usage_metadata is None:
        raise AdapterError("the response has no usage_metadata (nothing to meter)")
    prompt = usage_metadata.prompt_token_count or 0
    candidates = usage_metadata.candidates_token_count or 0
    thoughts = usage_metadata.thoughts_token_count or 0
    tool_use = usage_metadata.tool_use_prompt_token_count or 0
    total = usage_metadata.total_token_count
    # Some Vertex responses count thinking inside candidates: then prompt + candidates +
    # tool use already make up the total, and thinking must not be added twice.
    if thoughts and total is not None and prompt + candidates + tool_use == total and candidates >= thoughts:
        candidates -= thoughts
    return TokenUsage(
        input_tokens=prompt,
        cached_input_tokens=usage_metadata.cached_content_token_count or 0,
        output_tokens=candidates,
        thinking_tokens=thoughts,
        tool_use_prompt_tokens=tool_use,
        audio_input_tokens=_tokens_of(usage_metadata.prompt_tokens_details, "AUDIO"),
        cached_audio_input_tokens=_tokens_of(usage_metadata.cache_tokens_details, "AUDIO"),
        image_output_tokens=min(_tokens_of(usage_metadata.candidates_tokens_details, "IMAGE"), candidates),
    )


def _service_for(model: str) -> Service:
    name = model.lower()
    if "tts" in name:
        return Service.SPEECH
    if "image" in name:
        return Service.IMAGE
    return Service.TEXT


def event_from_generate_content(
    response: Any, *, tenant_id: str, session_id: str, model: str | None = None,
    operation: str = "generate_content", **context: Any,
) -> UsageEvent:
    """A UsageEvent from a `GenerateContentResponse` (or its `usage_metadata` with `model=`).

    `model` defaults to the response's `model_version`. `context` passes user_id,
    billing_mode, occurred_at, event_id, service and attributes through to the event.
    """
    metadata = getattr(response, "usage_metadata", response)
    model = model or getattr(response, "model_version", None)
    if not model:
        raise AdapterError("the response names no model_version: pass model=...")
    usage = token_usage_from_metadata(metadata)
    attributes = dict(context.pop("attributes", None) or {})
    traffic = getattr(metadata, "traffic_type", None)
    if traffic is not None:
        attributes.setdefault("traffic_type", str(getattr(traffic, "value", traffic)))
    service = context.pop("service", None) or _service_for(model)
    return build_event(usage, model=model, service=service, operation=operation, tenant_id=tenant_id,
                       session_id=session_id, attributes=attributes, **context)


def event_from_generate_images(
    response: Any, *, model: str, tenant_id: str, session_id: str, config: Any = None,
    operation: str = "generate_images", **context: Any,
) -> UsageEvent:
    """A UsageEvent from a `GenerateImagesResponse`: one billed image per image returned.

    Images withheld by the safety filter come back without `image` (only a
    `rai_filtered_reason`) and are not counted. `config.image_size` ("1K", "2K") becomes
    the resolution.
    """
    images = sum(1 for generated in response.generated_images or () if getattr(generated, "image", None) is not None)
    size = getattr(config, "image_size", None) if config is not None else None
    return build_event(ImageUsage(images=images, resolution=size), model=model, service=Service.IMAGE,
                       operation=operation, tenant_id=tenant_id, session_id=session_id, **context)


def event_from_generate_videos(
    operation: Any, config: Any, *, model: str, tenant_id: str, session_id: str,
    duration_seconds: int | float | Decimal | None = None, operation_name: str = "generate_videos", **context: Any,
) -> UsageEvent:
    """A UsageEvent from a finished `GenerateVideosOperation` and the `GenerateVideosConfig` it ran with.

    Seconds = duration × videos returned. The response has no duration: it comes from
    `config.duration_seconds` or, when the request left it to the model's default, from
    `duration_seconds=` (the adapter does not guess a default). Audio follows
    `config.generate_audio` (Veo 3 generates audio unless told not to; Veo 2 never does);
    resolution follows `config.resolution` (default 720p).
    """
    if not getattr(operation, "done", False):
        raise AdapterError(f"video operation {getattr(operation, 'name', '?')} has not finished: meter it when done")
    if getattr(operation, "error", None):
        raise AdapterError(f"video operation {getattr(operation, 'name', '?')} failed: {operation.error}")
    result = getattr(operation, "response", None) or getattr(operation, "result", None)
    videos = len(getattr(result, "generated_videos", None) or ())
    seconds = getattr(config, "duration_seconds", None) if config is not None else None
    if seconds is None:
        seconds = duration_seconds
    if seconds is None:
        raise AdapterError("the video's duration is unknown: config.duration_seconds is not set, "
                           "pass duration_seconds= (the response carries no duration)")
    generate_audio = getattr(config, "generate_audio", None) if config is not None else None
    with_audio = generate_audio if generate_audio is not None else not model.lower().startswith("veo-2")
    resolution = (getattr(config, "resolution", None) if config is not None else None) or "720p"
    usage = VideoUsage(seconds=Decimal(str(seconds)) * videos, with_audio=with_audio, resolution=resolution)
    return build_event(usage, model=model, service=Service.VIDEO, operation=operation_name, tenant_id=tenant_id,
                       session_id=session_id, **context)
