"""What a table makes of its topic's records: pure code, no Kafka.

A view is fed every record of the topic, partition by partition in offset order, once. Two
processes that read the same topic therefore compute the same view, whatever order their
partitions interleave in, as long as a view never lets records of different partitions
decide against each other. Writers keep related records (all of one session) on one
partition with `stable_partition`, so "which came first" is the partition's offset order,
which every reader sees alike.

Compaction keeps only the latest record of each key (and the order of what it keeps). A view
must give the same answer on the compacted topic as on the full one: `LatestByKey` does by
definition; a view that needs "the first of several" (sessions.py) gives each of those
records a key of its own, so compaction never removes one.
"""

from __future__ import annotations

import zlib
from typing import Any, Protocol


def stable_partition(key: str, partitions: int) -> int:
    """The partition of `key` among `partitions`: the same in every process and Python version
    (CRC-32, not `hash()`, which is salted per process)."""
    return zlib.crc32(key.encode()) % partitions


class View(Protocol):
    def apply(self, key: str, value: dict[str, Any] | None, partition: int, offset: int) -> None:
        """Take one record; `value` None is a tombstone (the key was deleted)."""


class LatestByKey:
    """key → the latest JSON value; a tombstone removes the key."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}

    def apply(self, key: str, value: dict[str, Any] | None, partition: int, offset: int) -> None:
        if value is None:
            self.values.pop(key, None)
        else:
            self.values[key] = value
