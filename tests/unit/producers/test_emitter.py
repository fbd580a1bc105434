"""The emitter rejects bad events before they leave the process (no broker needed)."""

import pytest

from meterstream.errors import InvalidUsageEvent
from meterstream.producers import UsageEmitter
from meterstream.settings import Settings


def emitter() -> UsageEmitter:
    # Nothing listens on port 1: validation must fail before any network use.
    return UsageEmitter(Settings(kafka_bootstrap="127.0.0.1:1"), **{"message.timeout.ms": 1000, "log_level": 0})


def test_emit_rejects_an_invalid_event_naming_the_field():
    with pytest.raises(InvalidUsageEvent) as caught:
        emitter().emit({"tenant_id": "acme", "session_id": "s", "service": "text", "model": "m",
                        "usage": {"unit": "tokens", "output_tokens": "many"}})
    assert caught.value.errors[0]["field"] == "usage.tokens.output_tokens"


def test_emit_returns_the_event_with_its_generated_id():
    event = emitter().emit({"tenant_id": "acme", "session_id": "s", "service": "image",
                            "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 1}})
    assert event.event_id is not None
