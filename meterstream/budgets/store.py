"""The budget owner's state: the tenant entries of the partitions it owns, in memory, with
the writes it has not yet sent to the changelog.

The ledger reads and writes it as a mapping (one entry per tenant, `t:<tenant>`). Each write
is filed under the partition of the command being applied, as the changelog keeps it (a
tenant's entry lives in the partition of its commands). The owner takes the writes after
each batch and sends each key once with its last value.

Kept apart from Kafka: the owner (owner.py) restores a partition from its changelog records
and drops it when the partition goes to another owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

import orjson

from meterstream.budgets.ledger import HOLD_PREFIX, TENANT_PREFIX, tenant_of_hold


def encode_key(key: str) -> bytes:
    # JSON, as the Faust table that kept this changelog before wrote its keys: state carries over.
    return orjson.dumps(key)


def encode_entry(entry: dict[str, Any] | None) -> bytes | None:
    return None if entry is None else orjson.dumps(entry)


class OwnedState(MutableMapping[str, Any]):
    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}
        self.partition_of: dict[str, int] = {}
        self.partition = -1  # the partition of the command being applied; set by the owner
        self._written: dict[str, int] = {}  # key -> partition, in order of first write

    def __getitem__(self, key: str) -> Any:
        return self.entries[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.entries.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.entries[key] = value
        self.partition_of[key] = self.partition
        self._written[key] = self.partition

    def __delitem__(self, key: str) -> None:
        del self.entries[key]
        self._written[key] = self.partition_of.pop(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def take_writes(self) -> list[tuple[str, int, Any]]:
        """What changed since the last call, once per key: (key, partition, value; None if
        deleted); holds first, tenant entries last, the order the restore relies on."""
        writes = [(key, partition, self.entries.get(key)) for key, partition in self._written.items()]
        self._written.clear()
        return sorted(writes, key=lambda write: write[0].startswith(TENANT_PREFIX))

    def restore(self, partition: int, records: Iterable[tuple[bytes, bytes | None]]) -> int:
        """Load a partition from its changelog records (key, value) in offset order: the last
        value of each key wins, a tombstone removes it, and a hold's record counts only once a
        record of its tenant's entry follows it (ledger.py says why). Returns how many
        entries the partition holds."""
        # Values stay bytes until the end: most records are overwritten by a later one.
        latest: dict[str, bytes | None] = {}
        unconfirmed: dict[str, dict[str, bytes | None]] = {}  # tenant -> hold key -> value (None: deleted)
        for raw_key, raw_value in records:
            key = orjson.loads(raw_key)
            if key.startswith(HOLD_PREFIX):
                unconfirmed.setdefault(tenant_of_hold(key), {})[key] = raw_value
                continue
            latest.update(unconfirmed.pop(key.removeprefix(TENANT_PREFIX), {}))
            latest[key] = raw_value
        kept = 0
        for key, raw_value in latest.items():
            if raw_value is not None:
                self.entries[key] = orjson.loads(raw_value)
                self.partition_of[key] = partition
                kept += 1
        return kept

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget the entries of partitions another owner now holds."""
        gone = set(partitions)
        for key in [key for key, partition in self.partition_of.items() if partition in gone]:
            del self.entries[key], self.partition_of[key]
            self._written.pop(key, None)
