"""When a de-duplication id may be forgotten, and which ids are due: an index by time bucket.

The rule is one comparison, shared with the processor's duplicate check: an id recognises
re-sends while it is younger than the window, and only once it is not may it be deleted,
so forgetting it changes no outcome (a re-send past the window counts as new either way).

Finding those ids must not mean reading the whole `seen` table: at 20,000 events/s it
holds tens of millions. The index keeps each id in the bucket of its first-seen time, per
partition of the table (a deletion's tombstone goes to the partition that holds the id),
as 16 raw bytes of its UUID: a sixth of what the id costs on disk. It is a list of
candidates, never the truth: an id accepted again after its window sits in two buckets,
so every candidate is checked against the table before it is deleted.

What the index does not see written (a restart, ids a rebalance brought from another
worker) it learns by reading a partition's stored ids a chunk at a time alongside the
expiry, so neither ever holds up metering for long; until then those ids are forgotten
late, never early. The shape is that of budgets/expiry.py (HoldIndex), whose holds are few
enough to re-read the whole table every minute; these are not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

BUCKETS_PER_WINDOW = 64
ID_BYTES = 16


def within_window(first_seen: float, now: float, window_s: float) -> bool:
    """Whether an id first seen at `first_seen` still catches re-sends at `now`."""
    return now - first_seen < window_s


class SeenIndex:
    """The ids of the `seen` table by partition and bucket of first-seen time.

    `stored(partition)` reads what the table holds for a partition: (event id, entry) pairs.
    """

    def __init__(self, window_s: float, stored: Callable[[int], Iterable[tuple[str, Any]]],
                 buckets_per_window: int = BUCKETS_PER_WINDOW) -> None:
        self.window_s = window_s
        self.width = window_s / buckets_per_window
        self.stored = stored
        self.buckets: dict[int, dict[int, bytearray]] = {}  # partition -> bucket -> ids, 16 bytes each
        self.unread: dict[int, Iterator[tuple[str, Any]]] = {}  # partition -> stored ids not yet indexed
        self.reading: set[int] = set()  # partitions whose stored ids are indexed, or being read

    def note(self, partition: int, event_id: uuid.UUID, first_seen: float) -> None:
        """Learn an id the table is given for `partition`."""
        bucket = int(first_seen // self.width)
        self.buckets.setdefault(partition, {}).setdefault(bucket, bytearray()).extend(event_id.bytes)

    def forget(self) -> None:
        """Drop everything (the partitions moved): each partition is read again from the table."""
        self.buckets.clear()
        self.unread.clear()
        self.reading.clear()

    def __len__(self) -> int:
        return sum(len(ids) for buckets in self.buckets.values() for ids in buckets.values()) // ID_BYTES

    def due(self, partition: int, now: float, limit: int) -> list[str]:
        """Up to `limit` ids of `partition` first seen a full window before `now` (candidates:
        check each against the table), after reading up to `limit` more of the stored ids."""
        self._read_stored(partition, limit)
        buckets = self.buckets.get(partition, {})
        # Every id in bucket b was first seen before (b + 1) * width.
        last_due = int((now - self.window_s) // self.width) - 1
        due: list[str] = []
        for bucket in sorted(b for b in buckets if b <= last_due):
            ids = buckets[bucket]
            take = min(len(ids), (limit - len(due)) * ID_BYTES)
            due.extend(str(uuid.UUID(bytes=bytes(ids[i:i + ID_BYTES]))) for i in range(len(ids) - take, len(ids), ID_BYTES))
            del ids[len(ids) - take:]
            if not ids:
                del buckets[bucket]
            if len(due) >= limit:
                break
        return due

    def _read_stored(self, partition: int, limit: int) -> None:
        if partition not in self.reading:
            self.reading.add(partition)
            self.unread[partition] = iter(self.stored(partition))
        unread = self.unread.get(partition)
        if unread is None:
            return
        read = 0
        for key, entry in islice(unread, limit):
            self.note(partition, uuid.UUID(key), entry["t"])
            read += 1
        if read < limit:
            del self.unread[partition]
