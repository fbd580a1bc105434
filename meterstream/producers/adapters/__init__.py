"""Adapters that turn what an SDK or a tracer reports into UsageEvents.

- `google_genai`: google-genai SDK objects (`GenerateContentResponse.usage_metadata`,
  `GenerateImagesResponse`, a finished `GenerateVideosOperation` with its config).
  The SDK is an optional extra (`pip install meterstream[adapters]`); the adapters only
  read attributes, so they import nothing from it.
- `otel`: OpenTelemetry GenAI span attributes (`gen_ai.usage.input_tokens`, ...).
"""

from meterstream.producers.adapters.errors import AdapterError
from meterstream.producers.adapters.google_genai import (
    event_from_generate_content,
    event_from_generate_images,
    event_from_generate_videos,
    token_usage_from_metadata,
)
from meterstream.producers.adapters.otel import event_from_otel_attributes, token_usage_from_otel

__all__ = [
    "AdapterError",
    "event_from_generate_content",
    "event_from_generate_images",
    "event_from_generate_videos",
    "event_from_otel_attributes",
    "token_usage_from_metadata",
    "token_usage_from_otel",
]
