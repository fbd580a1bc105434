"""The batch envelope: several usage events in one message on `usage.events`.

    {"meterstream_batch": 1, "events": [{...UsageEvent...}, {...}]}

A JSON object, so a reader tells it from a single event (also an object, which never has a
`meterstream_batch` field) by one key, and the single-event message stays valid exactly as
it was: other Kafka clients keep sending those, and both are metered. The number is the
envelope's version: a reader refuses versions it does not know (the whole message is then
dead-lettered with that reason) instead of guessing. CloudEvents' batch format was the
other candidate; it is a bare JSON array of CloudEvents, which would wrap every event in
`specversion`/`id`/`source`/`type`/`data` and change the single-event format too.

Each event in an envelope is identified by its message's position and its `index` in
`events`. Positions order as (offset, index); a single-event message has no index and sorts
as WHOLE, after any index at its offset: it stands for "everything at this offset". So a
guard stored before envelopes existed (a bare offset) keeps its meaning, and a single event
stores exactly what it stored then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from meterstream.errors import MeterstreamError

ENVELOPE_MARKER = "meterstream_batch"
ENVELOPE_VERSION = 1
# The index a single-event message sorts at: after every index an envelope at that offset can hold.
WHOLE = 1 << 62

Position = tuple[int, int]


class MalformedEnvelope(MeterstreamError, ValueError):
    """A message marked as a batch envelope that cannot be read as one."""


def encode_envelope(events: Sequence[bytes]) -> bytes:
    """One envelope of events already encoded as JSON (e.g. `UsageEvent.model_dump_json()`)."""
    return b'{"%s":%d,"events":[%s]}' % (ENVELOPE_MARKER.encode(), ENVELOPE_VERSION, b",".join(events))


def is_envelope(document: Any) -> bool:
    return isinstance(document, dict) and ENVELOPE_MARKER in document


def envelope_events(document: dict[str, Any]) -> list[bytes]:
    """The events of a parsed envelope, each re-encoded as compact JSON (the bytes a
    dead-lettered item carries: the same JSON value, not the producer's exact spacing)."""
    version = document[ENVELOPE_MARKER]
    if version != ENVELOPE_VERSION or isinstance(version, bool):
        raise MalformedEnvelope(f"batch envelope of version {version!r}; this worker reads {ENVELOPE_VERSION}")
    events = document.get("events")
    if not isinstance(events, list):
        raise MalformedEnvelope("batch envelope without an `events` list")
    if not events:
        raise MalformedEnvelope("batch envelope with no events")
    return [orjson.dumps(event) for event in events]


def decode_envelope(value: bytes) -> list[bytes] | None:
    """The events of an envelope, or None when `value` is not one (a single event, or not JSON).

    Raises MalformedEnvelope for a message marked as an envelope that cannot be read as one."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return envelope_events(document) if is_envelope(document) else None


def position(offset: int, index: int | None) -> Position:
    """Where an item sits in its source partition, comparable across single events and envelopes."""
    return offset, WHOLE if index is None else index


def stored_position(offset: int, index: int | None) -> int | list[int]:
    """A position as the guards store it: a bare offset for a single event, as before envelopes."""
    return offset if index is None else [offset, index]


def restored_position(stored: int | list[int]) -> Position:
    if isinstance(stored, int):
        return stored, WHOLE
    offset, index = stored
    return offset, index
