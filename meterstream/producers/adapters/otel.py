"""UsageEvents from OpenTelemetry GenAI span attributes (semantic conventions, development status).

Following the conventions: `gen_ai.usage.input_tokens` includes cached tokens (and cache
writes); `gen_ai.usage.cache_read.input_tokens` and `gen_ai.usage.audio.input_tokens` are
parts of it; `gen_ai.usage.reasoning.output_tokens` is part of `gen_ai.usage.output_tokens`
(set `reasoning_in_output=False` for instrumentations that report it separately).
The pre-1.36 names `gen_ai.usage.prompt_tokens` / `completion_tokens` are read too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meterstream.producers.adapters.common import build_event
from meterstream.producers.adapters.errors import AdapterError
from meterstream.schemas import Service, TokenUsage, UsageEvent

GOOGLE_PROVIDERS = {"gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google"}


def _count(attributes: Mapping[str, Any], *names: str) -> int:
    for name in names:
        value = attributes.get(name)
        if value is not None:
            try:
                count = int(value)
            except (TypeError, ValueError):
                raise AdapterError(f"{name} is not a token count: {value!r}") from None
            if count < 0:
                raise AdapterError(f"{name} is negative: {count}")
            return count
    return 0


def token_usage_from_otel(attributes: Mapping[str, Any], reasoning_in_output: bool = True) -> TokenUsage:
    output = _count(attributes, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
    reasoning = _count(attributes, "gen_ai.usage.reasoning.output_tokens")
    if reasoning_in_output:
        if reasoning > output:
            raise AdapterError(f"reasoning tokens ({reasoning}) exceed output tokens ({output}), which should "
                               "include them: pass reasoning_in_output=False for this instrumentation")
        output -= reasoning
    return TokenUsage(
        input_tokens=_count(attributes, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
        cached_input_tokens=_count(attributes, "gen_ai.usage.cache_read.input_tokens"),
        audio_input_tokens=_count(attributes, "gen_ai.usage.audio.input_tokens"),
        cached_audio_input_tokens=_count(attributes, "gen_ai.usage.audio.cache_read.input_tokens"),
        output_tokens=output,
        thinking_tokens=reasoning,
        image_output_tokens=_count(attributes, "gen_ai.usage.image.output_tokens"),
    )


def event_from_otel_attributes(
    attributes: Mapping[str, Any], *, tenant_id: str, session_id: str, reasoning_in_output: bool = True,
    **context: Any,
) -> UsageEvent:
    """A UsageEvent from a GenAI span's attributes; the model is the response model, else the request model."""
    model = attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model")
    if not model:
        raise AdapterError("the span names no gen_ai.response.model or gen_ai.request.model")
    provider = str(attributes.get("gen_ai.provider.name") or attributes.get("gen_ai.system") or "google")
    operation = str(attributes.get("gen_ai.operation.name") or "chat")
    return build_event(
        token_usage_from_otel(attributes, reasoning_in_output), model=str(model),
        service=context.pop("service", None) or Service.TEXT, operation=operation, tenant_id=tenant_id,
        session_id=session_id, provider=GOOGLE_PROVIDERS.get(provider, provider), **context,
    )
