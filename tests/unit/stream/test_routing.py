"""Routing: every message goes to its session's home partition, keeping each source's order."""

from __future__ import annotations

import orjson
from aiokafka.partitioner import murmur2
from hypothesis import given
from hypothesis import strategies as st

from meterstream.stream.routing import (
    RoutedItem,
    chunks,
    decode_routed,
    encode_routed,
    home_partition,
    route_batch,
)
from meterstream.schemas.envelope import encode_envelope


def event(session_id: str) -> bytes:
    return orjson.dumps({"session_id": session_id, "tenant_id": "t"})


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_the_home_partition_is_where_the_java_client_puts_the_key(session_id, partitions):
    assert home_partition(session_id, partitions) == (murmur2(session_id.encode()) & 0x7FFFFFFF) % partitions


def test_messages_of_one_session_go_home_whatever_partition_they_came_on():
    batch = [("usage.events", partition, offset, None, event("s-42")) for partition, offset in
             [(0, 5), (3, 1), (7, 9), (3, 2)]]
    routed = route_batch(batch, partitions=4)
    assert list(routed) == [home_partition("s-42", 4)]
    [(home, by_source)] = routed.items()
    assert {source: [item.offset for item in items] for source, items in by_source.items()} == {
        "usage.events:0": [5], "usage.events:3": [1, 2], "usage.events:7": [9]}


def test_a_message_naming_no_session_goes_on_whole_to_a_partition_chosen_by_its_position():
    malformed_envelopes = (b'{"meterstream_batch": 2, "events": []}', b'{"meterstream_batch": 1, "events": {}}',
                           b'{"meterstream_batch": 1, "events": []}', b'{"meterstream_batch": 1}')
    for value in (None, b"", b"not json", b"[1, 2]", b'{"session_id": 7}', b'{"tenant_id": "t"}',
                  *malformed_envelopes):
        routed = route_batch([("usage.events", 6, 3, b"k", value)], partitions=4)
        assert routed == {2: {"usage.events:6": [RoutedItem("usage.events:6", 3, value, b"k")]}}


def test_an_envelope_is_split_into_one_item_per_event_each_sent_home():
    sessions = ["a", "b", "c", "a", "d", "b"]
    values = [event(session_id) for session_id in sessions] + [b'"not an event"']
    routed = route_batch([("usage.events", 1, 7, b"k", encode_envelope(values))], partitions=4)
    items = {(item.offset, item.index): (home, item) for home, by_source in routed.items()
             for item in by_source["usage.events:1"]}
    assert sorted(items) == [(7, index) for index in range(len(values))]
    for index, session_id in enumerate(sessions):
        home, item = items[(7, index)]
        assert home == home_partition(session_id, 4)
        assert orjson.loads(item.value) == orjson.loads(values[index])
        assert item.key == b"k"
    assert items[(7, 6)] == (1, RoutedItem("usage.events:1", 7, b'"not an event"', b"k", 6))
    for by_source in routed.values():  # each partition's items in (offset, index) order
        indexes = [item.index for item in by_source["usage.events:1"]]
        assert indexes == sorted(indexes)


def test_routed_items_keep_their_bytes_keys_and_positions_even_when_not_utf8():
    items = [RoutedItem("usage.events:3", 10, event("s"), b"s"), RoutedItem("usage.events:3", 11, b"\xff\xfe", None),
             RoutedItem("usage.events:3", 12, None, b"\x00k"), RoutedItem("usage.events:3", 13, b"{}", None, 0),
             RoutedItem("usage.events:3", 13, b"[]", None, 1)]
    assert decode_routed(encode_routed("usage.events:3", items)) == items


def test_routed_messages_stay_under_the_brokers_message_size():
    big = [RoutedItem("usage.events:0", offset, b"x" * 60_000) for offset in range(30)]
    small = [RoutedItem("usage.events:0", offset, b"{}") for offset in range(1000)]
    for items in (big, small):
        runs = chunks(items)
        assert [item for run in runs for item in run] == items  # every item, in order
        assert all(len(encode_routed("usage.events:0", run)) < 1_000_000 for run in runs)
