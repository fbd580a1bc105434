"""UsageEvents from OpenTelemetry GenAI span attributes."""

from decimal import Decimal

import pytest

from meterstream.pricing import load_catalog, price_event
from meterstream.producers.adapters import AdapterError, event_from_otel_attributes, token_usage_from_otel
from meterstream.schemas import TokenUsage

IDS = {"tenant_id": "acme", "session_id": "s1"}


def test_the_genai_usage_attributes_map_to_token_usage():
    attributes = {
        "gen_ai.usage.input_tokens": 12_000,  # includes the 2,000 cached
        "gen_ai.usage.cache_read.input_tokens": 2_000,
        "gen_ai.usage.audio.input_tokens": 3_000,
        "gen_ai.usage.output_tokens": 1_500,  # includes the 1,000 reasoning tokens
        "gen_ai.usage.reasoning.output_tokens": 1_000,
    }
    assert token_usage_from_otel(attributes) == TokenUsage(
        input_tokens=12_000, cached_input_tokens=2_000, audio_input_tokens=3_000, output_tokens=500,
        thinking_tokens=1_000)


def test_a_span_becomes_an_event_for_the_response_model_priced_by_the_catalog():
    attributes = {
        "gen_ai.provider.name": "gcp.gemini", "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gemini-2.5-flash", "gen_ai.response.model": "gemini-2.5-pro",
        "gen_ai.usage.input_tokens": 10_000, "gen_ai.usage.output_tokens": 3_000,
        "gen_ai.usage.reasoning.output_tokens": 2_000,
    }
    event = event_from_otel_attributes(attributes, **IDS)
    assert (event.model, event.provider, event.operation) == ("gemini-2.5-pro", "google", "chat")
    # 10,000 × 1.25 + (1,000 + 2,000) × 10.00, per 1M
    assert price_event(load_catalog(), event).total_cost == Decimal("0.0425")


def test_instrumentations_that_report_reasoning_apart_from_output_are_supported():
    attributes = {"gen_ai.usage.output_tokens": 500, "gen_ai.usage.reasoning.output_tokens": 1_000}
    with pytest.raises(AdapterError, match="reasoning_in_output=False"):
        token_usage_from_otel(attributes)
    usage = token_usage_from_otel(attributes, reasoning_in_output=False)
    assert (usage.output_tokens, usage.thinking_tokens) == (500, 1_000)


def test_the_pre_1_36_attribute_names_are_read_too():
    usage = token_usage_from_otel({"gen_ai.usage.prompt_tokens": 40, "gen_ai.usage.completion_tokens": 9})
    assert (usage.input_tokens, usage.output_tokens) == (40, 9)


@pytest.mark.parametrize(("attributes", "complaint"), [
    ({"gen_ai.usage.input_tokens": 5}, "names no gen_ai.response.model"),
    ({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": "many"}, "not a token count"),
    ({"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": -3}, "negative"),
])
def test_a_span_that_cannot_be_metered_is_refused_with_the_reason(attributes, complaint):
    with pytest.raises(AdapterError, match=complaint):
        event_from_otel_attributes(attributes, **IDS)
