"""The worker's JSON-form totals update agrees with SessionTotals.add, digit for digit."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from meterstream.pricing import load_catalog, price_event
from meterstream.schemas import (
    CharacterUsage,
    ImageUsage,
    Service,
    SessionTotals,
    TokenUsage,
    UsageEvent,
    VideoUsage,
    add_to_totals_json,
)

CATALOG = load_catalog()
START = datetime(2026, 6, 1, tzinfo=UTC)

usages = st.one_of(
    st.builds(lambda i, o, t: (Service.TEXT, "gemini-2.5-pro", TokenUsage(input_tokens=i, cached_input_tokens=i // 3,
                                                                          output_tokens=o, thinking_tokens=t)),
              st.integers(0, 10**6), st.integers(0, 10**5), st.integers(0, 10**4)),
    st.builds(lambda n: (Service.IMAGE, "imagen-4.0-generate", ImageUsage(images=n)), st.integers(0, 8)),
    st.builds(lambda s, a: (Service.VIDEO, "veo-3.0-generate", VideoUsage(seconds=s, with_audio=a)),
              st.decimals(0, 60, places=6), st.booleans()),
    st.builds(lambda n: (Service.SPEECH, "cloud-tts-chirp3-hd", CharacterUsage(characters=n)), st.integers(0, 10**5)),
    st.just((Service.IMAGE, "imagen-99", ImageUsage(images=1))),  # unpriced
)


@settings(max_examples=80, deadline=None)
@given(steps=st.lists(st.tuples(usages, st.integers(-10**9, 10**9)), min_size=1, max_size=10))
def test_json_totals_equal_the_models_add(steps):
    model = SessionTotals(tenant_id="acme", session_id="s1")
    stored = model.model_dump(mode="json")
    for (service, name, usage), shift_us in steps:
        event = UsageEvent(tenant_id="acme", session_id="s1", service=service, model=name, usage=usage,
                           occurred_at=START + timedelta(microseconds=shift_us))
        priced = price_event(CATALOG, event)
        model = model.add(priced)
        stored = add_to_totals_json(stored, priced)
    assert SessionTotals.model_validate(stored) == model
    assert Decimal(stored["total_cost"]) == model.total_cost
