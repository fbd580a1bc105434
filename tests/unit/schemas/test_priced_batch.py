"""The batch form of usage.priced: many records in one message, read back exactly."""

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from meterstream.schemas import PricedUsage, SourcePosition
from meterstream.schemas.priced_batch import MAX_BATCH_BYTES, decode_priced, encode_priced, split_priced
from tests.unit.pricing.test_pricing_properties import priced_events


@st.composite
def priced_records(draw) -> PricedUsage:
    pricer, event = draw(priced_events())
    return pricer.price(event).model_copy(update={
        "source": SourcePosition(topic="usage.events", partition=draw(st.integers(0, 63)),
                                 offset=draw(st.integers(0, 2**62))),
        "replayed": draw(st.booleans()),
    })


@settings(max_examples=100, deadline=None)
@given(st.lists(priced_records(), max_size=30), st.integers(2_000, 20_000))
def test_encoding_then_decoding_gives_back_every_record_in_order_exactly(records, max_bytes):
    messages = encode_priced(records, max_bytes)
    decoded = [record for message in messages for record in decode_priced(message)]
    assert decoded == records
    # money survives to the last digit, not merely equal in value
    assert [str(r.total_cost) for r in decoded] == [str(r.total_cost) for r in records]
    for message in messages:
        assert len(message) <= max_bytes or len(decode_priced(message)) == 1


def test_no_records_make_no_message():
    assert encode_priced([]) == []


@settings(max_examples=20, deadline=None)
@given(priced_records())
def test_a_single_record_message_still_reads_as_one_record(record):
    assert decode_priced(record.model_dump_json().encode()) == [record]


@settings(max_examples=10, deadline=None)
@given(priced_records())
def test_records_fill_messages_up_to_the_size_limit(record):
    messages = encode_priced([record] * 2000)
    assert len(messages) > 1
    assert all(len(message) <= MAX_BATCH_BYTES for message in messages)
    assert sum(len(decode_priced(message)) for message in messages) == 2000


@settings(max_examples=10, deadline=None)
@given(priced_records())
def test_an_unreadable_record_is_found_apart_from_the_readable_ones(record):
    good = orjson.loads(record.model_dump_json())
    message = orjson.dumps({"v": 1, "priced": [good, {"event": "not an event"}, good]})
    with pytest.raises(ValidationError):
        decode_priced(message)
    parts = split_priced(message)
    assert [PricedUsage.model_validate_json(parts[i]) for i in (0, 2)] == [record, record]
    with pytest.raises(ValidationError):
        PricedUsage.model_validate_json(parts[1])


def test_a_batch_of_an_unknown_version_is_refused_whole():
    with pytest.raises(ValidationError):
        decode_priced(b'{"v": 2, "priced": []}')
    with pytest.raises(ValueError, match="version 2"):
        split_priced(b'{"v": 2, "priced": []}')
    with pytest.raises(ValueError, match="not JSON"):
        split_priced(b"\xff")
