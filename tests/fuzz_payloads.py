"""Hypothesis strategies for what may arrive on usage.events: random bytes, and JSON that is
almost a valid usage event (a field dropped, retyped, out of range or garbled)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

VALID = {
    "tenant_id": "acme", "session_id": "fuzz-s1", "service": "image", "model": "imagen-4.0-generate",
    "usage": {"unit": "images", "images": 2}, "occurred_at": "2026-06-01T12:00:00Z",
}

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=40),
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=10)


@st.composite
def near_valid_events(draw) -> bytes:
    event = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 3))):
        usage = event.get("usage")
        target = usage if isinstance(usage, dict) and draw(st.booleans()) else event
        key = draw(st.sampled_from(sorted(target) + ["unexpected", "unit", "images", "seconds"]))
        if draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = draw(json_values)
    text = json.dumps(event)
    if draw(st.integers(0, 9)) == 0:  # occasionally cut short
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode()


payloads = st.one_of(st.binary(max_size=300), near_valid_events())
