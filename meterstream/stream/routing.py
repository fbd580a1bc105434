"""Where a usage event is metered: its session's home partition, whatever partition it came on.

Producers outside this package partition as they like (librdkafka's default is CRC32, not
murmur2; some send unkeyed, some pick partitions), and users raise the partition count of
`usage.events` to scale, which moves keys. The worker's guarantees need every event of a
session in one place, so the router (router.py) reads `usage.events` and forwards each
message to `usage.routed`, an internal topic whose partition p holds exactly the sessions
with murmur2(session_id) % partitions == p. The metering agent reads only `usage.routed`,
and its tables are partitioned like it. So the partition count of `usage.events` can be
anything and can change at any time; the internal count (the most workers that can share
the load) is fixed when the topics are created.

Each forwarded item keeps its original position (topic:partition, offset, and for an event
of a batch envelope its index in the envelope, schemas/envelope.py): the metering rules
guard on it, so a message forwarded twice (a router crash before its commit) is recognised
as the same message, not as a re-send. An envelope is split here, one item per event, each
to its own session's home partition: the events of one envelope may belong to any sessions.

A message the router cannot read a session from (not JSON, no session_id, too large, not
UTF-8, a malformed envelope) is forwarded too, whole, to a partition chosen from its
position, and the metering agent dead-letters it with the reason, in the same place and
count as every other outcome; so is each event of an envelope that names no session.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson

from meterstream.message_runs import MAX_MESSAGE_BYTES, runs_within
from meterstream.partitioning import murmur2_partition
from meterstream.schemas.envelope import MalformedEnvelope, envelope_events, is_envelope

ROUTED_VERSION = 1
# A routed message stays well under the broker's default 1 MB message size: at most this
# many items, and a new message once the items' bytes pass the budget (events may be 64 KiB).
MAX_ITEMS_PER_MESSAGE = 400
MAX_BYTES_PER_MESSAGE = MAX_MESSAGE_BYTES
# Far above the broker's default message limit (1 MB): larger messages are not read as
# envelopes, and go on whole to be dead-lettered for their size.
MAX_SPLIT_BYTES = 8 * 1024 * 1024


def home_partition(session_id: str, partitions: int) -> int:
    """The partition a session's events are metered in: the Java client's placement of the key."""
    return murmur2_partition(session_id.encode(), partitions)


@dataclass(frozen=True)
class RoutedItem:
    """One message as the metering agent gets it: its original bytes and where they came from."""

    source: str  # "topic:partition" on usage.events
    offset: int
    value: bytes | None
    key: bytes | None = None
    index: int | None = None  # in its envelope; None: the message is one event (or unreadable)


def _session(document: Any) -> str | None:
    session_id = document.get("session_id") if isinstance(document, dict) else None
    return session_id if isinstance(session_id, str) and session_id else None


def split_message(source: str, offset: int, key: bytes | None,
                  value: bytes | None) -> list[tuple[RoutedItem, str | None]]:
    """The items a message carries (one, or one per event of an envelope), each with the
    session it names (None if it names none readably: the metering rules then say why)."""
    whole = RoutedItem(source, offset, value, key)
    if not value or len(value) > MAX_SPLIT_BYTES:
        return [(whole, None)]
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return [(whole, None)]
    if not is_envelope(document):
        return [(whole, _session(document))]
    try:
        events = envelope_events(document)
    except MalformedEnvelope:
        return [(whole, None)]
    return [(RoutedItem(source, offset, event, key, index), _session(parsed))
            for index, (event, parsed) in enumerate(zip(events, document["events"]))]


def _item_json(item: RoutedItem) -> dict[str, Any]:
    document: dict[str, Any] = {"o": item.offset}
    if item.index is not None:
        document["i"] = item.index
    if item.value is not None:
        try:
            document["t"] = item.value.decode()
        except UnicodeDecodeError:
            document["b"] = base64.b64encode(item.value).decode()
    if item.key is not None:
        document["k"] = base64.b64encode(item.key).decode()
    return document


def encode_routed(source: str, items: list[RoutedItem]) -> bytes:
    """One `usage.routed` message for items from one source partition, in offset order."""
    return orjson.dumps({"v": ROUTED_VERSION, "src": source, "items": [_item_json(item) for item in items]})


def decode_routed(value: bytes) -> list[RoutedItem]:
    document = orjson.loads(value)
    if document.get("v") != ROUTED_VERSION:
        raise ValueError(f"routed message of version {document.get('v')!r}; this worker reads {ROUTED_VERSION}")
    source = document["src"]
    items = []
    for item in document["items"]:
        if "t" in item:
            raw: bytes | None = item["t"].encode()
        elif "b" in item:
            raw = base64.b64decode(item["b"])
        else:
            raw = None
        key = base64.b64decode(item["k"]) if "k" in item else None
        items.append(RoutedItem(source, item["o"], raw, key, item.get("i")))
    return items


def chunks(items: list[RoutedItem]) -> list[list[RoutedItem]]:
    """`items` cut into consecutive runs that each fit one routed message."""
    sizes = [len(item.value or b"") + len(item.key or b"") for item in items]
    return [items[run.start:run.stop] for run in runs_within(sizes, MAX_BYTES_PER_MESSAGE, MAX_ITEMS_PER_MESSAGE)]


def route_batch(messages: list[tuple[str, int, int, bytes | None, bytes | None]],
                partitions: int) -> dict[int, dict[str, list[RoutedItem]]]:
    """Group a batch of (topic, partition, offset, key, value) by home partition and source,
    keeping each source's (offset, index) order."""
    routed: dict[int, dict[str, list[RoutedItem]]] = {}
    for topic, partition, offset, key, value in messages:
        source = f"{topic}:{partition}"
        for item, session_id in split_message(source, offset, key, value):
            home = partition % partitions if session_id is None else home_partition(session_id, partitions)
            routed.setdefault(home, {}).setdefault(source, []).append(item)
    return routed
