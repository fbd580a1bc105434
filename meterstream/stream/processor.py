"""The metering step for one message: validate, de-duplicate, price, update session totals.

Kept free of Faust so its rules are tested directly; the Faust agent (app.py) only feeds
it messages and sends what it returns. State lives in two mappings that the agent backs
with changelog tables; every change to them is idempotent under replay:

- `seen` maps event_id -> the (partition, offset) where it was first accepted. The same
  event_id at another offset is a duplicate send; at the same offset it is a replay after
  a crash, which must be processed again (its priced record may never have been sent).
- `sessions` maps session_id -> {totals, offset}: an offset at or below the stored one was
  already applied. All events of a session share a partition (key = session_id), so
  offsets in one session's value are comparable.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from meterstream.errors import InvalidUsageEvent
from meterstream.pricing import Catalog, price_event
from meterstream.schemas import PricedUsage, SessionTotals, SourcePosition, parse_usage_event


@dataclass(frozen=True)
class DeadLetter:
    """Why a message could not be metered; the agent sends it with the original bytes."""

    reason: str
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    status: str  # "priced" | "unpriced" | "duplicate" | "dead_letter"
    priced: PricedUsage | None = None
    dead_letter: DeadLetter | None = None


class MeteringProcessor:
    def __init__(
        self,
        catalog: Catalog,
        sessions: MutableMapping[str, Any],
        seen: MutableMapping[str, Any],
        topic: str,
        dedup_window: timedelta = timedelta(days=7),
    ) -> None:
        self.catalog = catalog
        self.sessions = sessions
        self.seen = seen
        self.topic = topic
        self.dedup_window_s = dedup_window.total_seconds()
        self.counts: Counter[str] = Counter()

    def process(self, value: bytes | None, partition: int, offset: int) -> Outcome:
        outcome = self._process(value, partition, offset)
        self.counts[outcome.status] += 1
        return outcome

    def _process(self, value: bytes | None, partition: int, offset: int) -> Outcome:
        if value is None:
            return Outcome("dead_letter", dead_letter=DeadLetter("empty message (no value)"))
        try:
            event = parse_usage_event(value)
        except InvalidUsageEvent as error:
            return Outcome("dead_letter", dead_letter=DeadLetter(f"invalid usage event: {error}", error.errors))

        event_key = str(event.event_id)
        first = self.seen.get(event_key)
        now = time.time()
        if first is not None and (first["p"], first["o"]) != (partition, offset) and now - first["t"] < self.dedup_window_s:
            return Outcome("duplicate")

        state = self.sessions.get(event.session_id)
        if state is not None and state["totals"]["tenant_id"] != event.tenant_id:
            return Outcome("dead_letter", dead_letter=DeadLetter(
                f"session {event.session_id} belongs to another tenant than {event.tenant_id}"
            ))

        if first is None or (first["p"], first["o"]) != (partition, offset):
            self.seen[event_key] = {"p": partition, "o": offset, "t": now}

        priced = price_event(self.catalog, event).model_copy(
            update={"source": SourcePosition(topic=self.topic, partition=partition, offset=offset)}
        )
        if state is None or offset > state["offset"]:
            totals = (
                SessionTotals(tenant_id=event.tenant_id, session_id=event.session_id, currency=priced.currency)
                if state is None
                else SessionTotals.model_validate(state["totals"])
            )
            self.sessions[event.session_id] = {
                "totals": totals.add(priced).model_dump(mode="json"),
                "offset": offset,
            }
        return Outcome(priced.status.value, priced=priced)

    def session_totals(self, session_id: str) -> SessionTotals | None:
        state = self.sessions.get(session_id)
        return None if state is None else SessionTotals.model_validate(state["totals"])
