"""Session totals, updated in the JSON form the worker stores: exact sums of what was priced."""

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
    st.builds(lambda i, o, t, u: (Service.TEXT, "gemini-2.5-pro", TokenUsage(
        input_tokens=i, cached_input_tokens=i // 3, output_tokens=o, thinking_tokens=t, tool_use_prompt_tokens=u)),
              st.integers(0, 10**6), st.integers(0, 10**5), st.integers(0, 10**4), st.integers(0, 10**3)),
    st.builds(lambda n: (Service.IMAGE, "imagen-4.0-generate", ImageUsage(images=n)), st.integers(0, 8)),
    st.builds(lambda s, a: (Service.VIDEO, "veo-3.0-generate", VideoUsage(seconds=s, with_audio=a)),
              st.decimals(0, 60, places=6), st.booleans()),
    st.builds(lambda n: (Service.SPEECH, "cloud-tts-chirp3-hd", CharacterUsage(characters=n)), st.integers(0, 10**5)),
    st.just((Service.IMAGE, "imagen-99", ImageUsage(images=1))),  # unpriced
    st.just((Service.TEXT, "gemini-9-ultra", TokenUsage(input_tokens=1000, output_tokens=200, thinking_tokens=5))),
)


@settings(max_examples=80, deadline=None)
@given(steps=st.lists(st.tuples(usages, st.integers(-10**9, 10**9)), min_size=1, max_size=10))
def test_totals_are_the_exact_sums_of_the_priced_events(steps):
    stored = SessionTotals(tenant_id="acme", session_id="s1").model_dump(mode="json")
    priced_events = []
    for (service, name, usage), shift_us in steps:
        event = UsageEvent(tenant_id="acme", session_id="s1", service=service, model=name, usage=usage,
                           occurred_at=START + timedelta(microseconds=shift_us))
        priced_events.append(price_event(CATALOG, event))
        stored = add_to_totals_json(stored, priced_events[-1])

    totals = SessionTotals.model_validate(stored)
    events = [p.event for p in priced_events]
    tokens = [e.usage for e in events if isinstance(e.usage, TokenUsage)]
    assert totals.operations == len(steps)
    assert totals.total_cost == sum((p.total_cost for p in priced_events), Decimal(0))
    assert totals.unpriced_operations == sum(p.status.value == "unpriced" for p in priced_events)
    # each count sums the event field of its name (thinking and tool use apart), as the export lists them
    for name in ("input_tokens", "output_tokens", "cached_input_tokens", "thinking_tokens", "tool_use_prompt_tokens"):
        assert getattr(totals, name) == sum(getattr(u, name) for u in tokens), name
    assert totals.images == sum(e.usage.images for e in events if isinstance(e.usage, ImageUsage))
    assert totals.video_seconds == sum((e.usage.seconds for e in events if isinstance(e.usage, VideoUsage)), Decimal(0))
    assert totals.characters == sum(e.usage.characters for e in events if isinstance(e.usage, CharacterUsage))
    assert unpriced_of(totals) == unpriced_of_events(priced_events)  # what the unpriced operations used
    for service, by in totals.by_service.items():
        mine = [p for p in priced_events if p.event.service.value == service]
        assert by.operations == len(mine)
        assert by.cost == sum((p.total_cost for p in mine), Decimal(0))
        assert by.unpriced_operations == sum(p.status.value == "unpriced" for p in mine)
        assert unpriced_of(by) == unpriced_of_events(mine)
        assert by.models == list(dict.fromkeys(p.event.model for p in mine))
    assert (totals.first_event_at, totals.last_event_at) == (min(e.occurred_at for e in events),
                                                            max(e.occurred_at for e in events))


def unpriced_of(counts) -> tuple:
    return (counts.unpriced_tokens, counts.unpriced_images, counts.unpriced_video_seconds, counts.unpriced_characters)


def unpriced_of_events(priced_events) -> tuple:
    usages = [p.event.usage for p in priced_events if p.status.value == "unpriced"]
    return (sum(u.input_tokens + u.output_tokens + u.thinking_tokens + u.tool_use_prompt_tokens
                for u in usages if isinstance(u, TokenUsage)),
            sum(u.images for u in usages if isinstance(u, ImageUsage)),
            sum((u.seconds for u in usages if isinstance(u, VideoUsage)), Decimal(0)),
            sum(u.characters for u in usages if isinstance(u, CharacterUsage)))
