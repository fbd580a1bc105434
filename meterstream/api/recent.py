"""What this API process sent lately, to tell a retry from a conflicting duplicate.

The stream is where every duplicate is recognised (its de-duplication table, for
`METERSTREAM_DEDUP_WINDOW_DAYS`); the API can tell only what passed through it. So each API
process remembers what the last `capacity` event ids it sent said (`content_fingerprint`),
and refuses with 409 the same id sent again saying something else. A conflict the API cannot
see (another host, an older id, a producer writing to Kafka directly) the stream still
counts apart (`conflict` in the ledger and in reconcile).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from meterstream.schemas import UsageEvent, content_fingerprint


class RecentEvents:
    """event_id -> fingerprint of the latest `capacity` events sent (used from the event loop only)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._said: OrderedDict[str, str] = OrderedDict()

    def conflicts(self, event: UsageEvent) -> bool:
        """Whether this event id was sent from here saying something else."""
        said = self._said.get(str(event.event_id))
        return said is not None and said != content_fingerprint(event)

    @staticmethod
    def differ(first: UsageEvent, again: UsageEvent) -> bool:
        """Whether two events (of one id) say different things."""
        return content_fingerprint(first) != content_fingerprint(again)

    def remember(self, events: Iterable[UsageEvent]) -> None:
        for event in events:
            key = str(event.event_id)
            self._said.setdefault(key, content_fingerprint(event))  # the first one counts
            self._said.move_to_end(key)
        while len(self._said) > self.capacity:
            self._said.popitem(last=False)
