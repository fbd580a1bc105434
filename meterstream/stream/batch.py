"""A changelog table seen through one batch of messages: writes wait for the batch's end.

Every message touches the same few keys (its session's totals, its partition's ledger and
position), and each table write is a RocksDB put plus a changelog message, the largest
cost in the worker (bench/, scenario 1). Held back to the end of the batch, each key is
written once with its last value: a session with 50 events in a batch costs one write,
not 50. Reads inside the batch see the held writes, so the metering rules do not know
the difference.

Safe under crashes because nothing of the batch is acked before `flush()` has handed the
writes to the table (and the offset commit waits until they are sent): a crash before
then replays the whole batch, and the processor's rules make replays idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, Generic, TypeVar

Event = TypeVar("Event")


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
        held = self.held.get(key)
        return self.table[key] if held is None else held[0]

    def get(self, key: str, default: Any = None) -> Any:  # most `seen` lookups miss: no KeyError round trip
        held = self.held.get(key)
        return self.table.get(key, default) if held is None else held[0]

    def __setitem__(self, key: str, value: Any) -> None:
        self.held[key] = (value, self.current_event())

    def __delitem__(self, key: str) -> None:
        raise TypeError("metering state is never deleted: a batch only adds and updates entries")

    def __iter__(self) -> Iterator[str]:
        yield from self.held
        yield from (key for key in self.table if key not in self.held)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def flush(self) -> int:
        """Write each held key once; returns how many keys were written."""
        written = len(self.held)
        for key, (value, event) in self.held.items():
            self.make_current(event)
            self.table[key] = value
        self.held.clear()
        return written
