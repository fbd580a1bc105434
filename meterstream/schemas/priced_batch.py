"""Many priced records in one `usage.priced` message: the form the worker sends.

One message per priced event cost the worker more than metering the event (aiokafka's
per-message work in Python; bench/, scenario 1), so the worker sends each batch's records
as a few messages of this form:

    {"v": 1, "priced": [<record>, <record>, ...]}

where every <record> is exactly the single-record form (a PricedUsage as JSON), and a
message stays under MAX_BATCH_BYTES. Readers of `usage.priced` take both forms
(`decode_priced`): a single record never has the `v` and `priced` members, a batch has
nothing else.

A record's identity is its own, whichever message carries it: its `event_id` (the key
ClickHouse replaces by) and its `source` position on usage.events. The position of the
message only says where the sink got to; a message delivered twice carries the same
records twice, and the sink drops them the way it drops any re-delivered record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, Union

import orjson
from pydantic import BaseModel, Field, TypeAdapter

from meterstream.message_runs import MAX_MESSAGE_BYTES, runs_within
from meterstream.schemas.priced import PricedUsage

PRICED_BATCH_VERSION = 1
MAX_BATCH_BYTES = MAX_MESSAGE_BYTES

_HEAD = b'{"v":%d,"priced":[' % PRICED_BATCH_VERSION
_TAIL = b"]}"
_record_json = TypeAdapter(PricedUsage).dump_json


class PricedBatch(BaseModel):
    v: Literal[1]
    priced: list[PricedUsage]


# Batch first: a single record fails it at once (no `v`), and a batch never passes as a record.
_either = TypeAdapter(Annotated[Union[PricedBatch, PricedUsage], Field(union_mode="left_to_right")])


def encode_priced(records: Sequence[PricedUsage], max_bytes: int = MAX_BATCH_BYTES) -> list[bytes]:
    """`records` as consecutive batch messages in their order, each at most `max_bytes`
    unless a single record alone is larger (it then has a message of its own)."""
    texts = [_record_json(record) for record in records]
    runs = runs_within([len(text) + 1 for text in texts], max_bytes - len(_HEAD) - len(_TAIL))
    return [_HEAD + b",".join(texts[run.start:run.stop]) + _TAIL for run in runs]


def decode_priced(value: bytes) -> list[PricedUsage]:
    """The records of a `usage.priced` message of either form; raises pydantic's
    ValidationError if any of them is unreadable (`split_priced` then finds which)."""
    document = _either.validate_json(value)
    return document.priced if isinstance(document, PricedBatch) else [document]


def split_priced(value: bytes) -> list[bytes]:
    """The JSON of each record a message carries, unvalidated: what is left to read
    record by record when `decode_priced` refused the message. Raises ValueError when the
    message is not one of the two forms at all."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(document, dict) or "v" not in document:
        return [value]
    if document["v"] != PRICED_BATCH_VERSION:
        raise ValueError(f"priced batch of version {document['v']!r}; this reader reads {PRICED_BATCH_VERSION}")
    records = document.get("priced")
    if not isinstance(records, list):
        raise ValueError("priced batch without a list of records")
    return [orjson.dumps(record) for record in records]
