"""A changelog table seen through one batch of messages: writes wait for the batch's end.

Every message touches the same few keys (its session's totals, its partition's ledger and
position), and each table write is a RocksDB put plus a changelog message, the largest
cost in the worker (bench/, scenario 1). Held back to the end of the batch, each key is
written once with its last value: a session with 50 events in a batch costs one write,
not 50. Reads inside the batch see the held writes, so the metering rules do not know
the difference.

Safe under crashes because nothing of the batch is acked before its writes are handed on
(`flush()` to the table, or `take()` to stream/table_store.py), and the offset commit waits
until they are sent: a crash before then replays the whole batch, and the processor's rules
make replays idempotent.

Deletions are held like writes and sent as tombstones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, Generic, TypeVar

Event = TypeVar("Event")
_DELETED = object()


class BatchedTable(MutableMapping[str, Any], Generic[Event]):
    """`table` with writes held until `flush()`.

    A Faust table files a write under the partition of the stream's current event, so each
    held write remembers the event that made it (`current_event()`), and `flush()` makes
    that event current again (`make_current`) before writing.
    """

    def __init__(self, table: MutableMapping[str, Any], current_event: Callable[[], Event],
                 make_current: Callable[[Event], None]) -> None:
        self.table = table
        self.current_event = current_event
        self.make_current = make_current
        self.held: dict[str, tuple[Any, Event]] = {}

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _DELETED)
        if value is _DELETED:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:  # most `seen` lookups miss: no KeyError round trip
        held = self.held.get(key)
        if held is None:
            return self.table.get(key, default)
        return default if held[0] is _DELETED else held[0]

    def __setitem__(self, key: str, value: Any) -> None:
        self._hold(key, value)

    def __delitem__(self, key: str) -> None:
        """Delete `key` at flush, writing a tombstone to the changelog even if the key is
        already gone locally (a replay re-sends deletions the changelog may lack)."""
        self._hold(key, _DELETED)

    def _hold(self, key: str, value: Any) -> None:
        self.held[key] = (value, self.current_event())

    def __iter__(self) -> Iterator[str]:
        yield from (key for key, (value, _) in self.held.items() if value is not _DELETED)
        yield from (key for key in self.table if key not in self.held)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def take(self) -> list[tuple[str, Any, Event]]:
        """Hand over the held writes, in order, and forget them: (key, value, the event that
        wrote it), value None for a deletion (stream/table_store.py writes them)."""
        taken = [(key, None if value is _DELETED else value, event) for key, (value, event) in self.held.items()]
        self.held.clear()
        return taken

    def flush(self) -> int:
        """Write each held key once; returns how many keys were written."""
        written = len(self.held)
        for key, (value, event) in self.held.items():
            self.make_current(event)
            if value is not _DELETED:
                self.table[key] = value
                continue
            try:
                del self.table[key]  # Faust sends the tombstone before it touches the store
            except KeyError:
                pass
        self.held.clear()
        return written
