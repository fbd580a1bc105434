"""The batch envelope's codec and the order of positions in it."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterstream.schemas.envelope import (
    WHOLE,
    MalformedEnvelope,
    decode_envelope,
    encode_envelope,
    position,
    restored_position,
    stored_position,
)

json_values = st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=8)


@given(st.lists(json_values, min_size=1, max_size=8))
def test_an_envelope_gives_back_each_event_as_the_same_json_value(events):
    decoded = decode_envelope(encode_envelope([orjson.dumps(event) for event in events]))
    assert [orjson.loads(event) for event in decoded] == events


def test_a_single_event_or_anything_else_is_not_an_envelope():
    for value in (b'{"session_id": "s"}', b"[1]", b"not json", b'"meterstream_batch"'):
        assert decode_envelope(value) is None


@pytest.mark.parametrize("value,reason", [
    (b'{"meterstream_batch": 2, "events": [{}]}', "version 2; this worker reads 1"),
    (b'{"meterstream_batch": true, "events": [{}]}', "version True"),
    (b'{"meterstream_batch": 1}', "without an `events` list"),
    (b'{"meterstream_batch": 1, "events": []}', "no events"),
])
def test_a_malformed_envelope_says_what_is_wrong(value, reason):
    with pytest.raises(MalformedEnvelope, match=reason):
        decode_envelope(value)


def test_a_single_event_sorts_after_every_event_of_an_envelope_at_its_offset():
    assert position(5, 0) < position(5, 9) < position(5, None) == (5, WHOLE) < position(6, 0)
    assert stored_position(5, None) == 5 and stored_position(5, 3) == [5, 3]
    for offset, index in [(5, None), (5, 3)]:
        assert restored_position(stored_position(offset, index)) == position(offset, index)
