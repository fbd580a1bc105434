"""Grouping emitted events into batch envelopes (schemas/envelope.py), one per destination partition.

An envelope carries the events that would each have gone to one partition, keyed by its
first event's key: placed by the producer's own partitioner it lands exactly where each of
its events would have gone on its own, and a spooled envelope (a key and a value, like any
record) lands there again when it is replayed. When the placement is unknown (no metadata
yet, or a partitioner that does not place keys deterministically) events are grouped by key,
which lands alike by construction. A group of one event goes as a plain single-event message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer

from meterstream.message_runs import MAX_MESSAGE_BYTES, runs_within
from meterstream.partitioning import KEYED_PARTITIONERS
from meterstream.schemas.envelope import encode_envelope

MAX_EVENTS_PER_ENVELOPE = 500
MAX_ENVELOPE_BYTES = MAX_MESSAGE_BYTES


class Placement:
    """Which partition of `topic` a key lands on with the producer's partitioner, once the
    topic's partition count is known (its metadata, fetched now and then by whoever asks)."""

    def __init__(self, producer: Producer, topic: str, config: dict[str, Any]) -> None:
        self._producer, self._topic = producer, topic
        self._partitioner = KEYED_PARTITIONERS.get(str(config.get("partitioner", "consistent_random")))
        self._partitions: int | None = None
        self._asked_at = float("-inf")

    def __call__(self) -> Callable[[bytes], int] | None:
        """key -> partition, or None while that is unknown. May wait up to a second for the broker."""
        if self._partitioner is None:
            return None
        now = time.monotonic()
        # Partitions may be added at any time; a stale count only makes envelopes smaller
        # until the next refresh (the worker routes every event, wherever it lands).
        if now - self._asked_at > (30 if self._partitions else 5):
            self._asked_at = now
            try:
                metadata = self._producer.list_topics(self._topic, timeout=1).topics[self._topic]
                if metadata.error is None and metadata.partitions:
                    self._partitions = len(metadata.partitions)
            except Exception:  # noqa: BLE001 - any failure means not now: group by key meanwhile
                pass
        partitions, partitioner = self._partitions, self._partitioner
        return None if partitions is None else lambda key: partitioner(key, partitions)


def batch_messages(records: list[tuple[bytes, bytes]],
                   place: Callable[[bytes], int] | None) -> list[tuple[bytes, bytes, list[int]]]:
    """(key, event JSON) records in emit order -> (key, value, indexes of its records)
    messages, one envelope per destination partition (per key when `place` is None), each
    within the size limits."""
    groups: dict[object, list[int]] = {}
    for index, (key, _) in enumerate(records):
        groups.setdefault(key if place is None else place(key), []).append(index)
    messages = []
    for group in groups.values():
        for run in runs_within([len(records[index][1]) for index in group], MAX_ENVELOPE_BYTES,
                               MAX_EVENTS_PER_ENVELOPE):
            indexes = group[run.start:run.stop]
            values = [records[index][1] for index in indexes]
            messages.append((records[indexes[0]][0], values[0] if len(values) == 1 else encode_envelope(values),
                             indexes))
    return messages
