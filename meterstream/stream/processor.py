"""The metering step for one message: validate, de-duplicate, price, update session totals.

Kept free of Faust so its rules are tested directly; the Faust agent (app.py) only feeds
it messages and sends what it returns. State lives in three mappings that the agent backs
with changelog tables, and every change to them is idempotent under replay (a crash
re-delivers everything after the last committed offset):

- `seen` maps event_id -> the (partition, offset) where it was first accepted. The same
  event_id at another offset is a duplicate send; at the same offset it is a replay,
  which is processed again (its priced record may never have left) and flagged `replayed`.
- `sessions` maps session_id -> {totals, offset}: an offset at or below the stored one was
  already applied. All events of a session share a partition (key = session_id), so the
  offsets in one session's value are comparable.
- `ledger` maps "partition:tenant" -> counts of each outcome, with the same offset guard:
  the reconciliation ledger, exact across crashes.
- `positions` maps partition -> the last offset processed. A message further ahead than
  the next offset means the consumer skipped some (faust-streaming can, around rebalances:
  faust #216, #221); processing it would commit past them, so it raises OffsetGap instead.

A replay writes its entries again, unchanged. After a kill -9 the local store (RocksDB)
can hold changes whose changelog messages were never sent; the replay of those offsets
is the last chance to send them before the offsets are committed. Without it the
changelog silently lacks them, and a worker that rebuilds from it (a rebalance, a lost
disk) forgets that an event was seen and counts its next re-send again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from meterstream.errors import InvalidUsageEvent, MeterstreamError
from meterstream.pricing import Catalog, Pricer, UnknownModelRejected
from meterstream.schemas import (
    PricedUsage,
    SessionTotals,
    SourcePosition,
    UsageEvent,
    add_to_totals_json,
    parse_usage_event,
)

# A usage event is a few hundred bytes; anything this large is garbage or abuse.
MAX_MESSAGE_BYTES = 64 * 1024
UNKNOWN_TENANT = "(unknown)"
OUTCOMES = ("priced", "unpriced", "duplicate", "dead_letter")


class OffsetGap(MeterstreamError):
    """The worker was handed a message beyond the next unprocessed offset of its partition."""

    def __init__(self, partition: int, expected: int, got: int) -> None:
        self.partition, self.expected, self.got = partition, expected, got
        super().__init__(f"partition {partition}: expected offset {expected}, was given {got}; "
                         f"offsets {expected}..{got - 1} would be skipped")


@dataclass(frozen=True)
class DeadLetter:
    """Why a message could not be metered; the agent sends it with the original bytes."""

    reason: str
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    status: str  # one of OUTCOMES
    tenant_id: str = UNKNOWN_TENANT
    priced: PricedUsage | None = None
    dead_letter: DeadLetter | None = None


def _dead(reason: str, errors: list[dict[str, str]] | None = None, tenant_id: str = UNKNOWN_TENANT) -> Outcome:
    return Outcome("dead_letter", tenant_id=tenant_id, dead_letter=DeadLetter(reason, errors or []))


class MeteringProcessor:
    def __init__(
        self,
        pricer: Pricer | Catalog,
        sessions: MutableMapping[str, Any],
        seen: MutableMapping[str, Any],
        topic: str,
        dedup_window: timedelta = timedelta(days=7),
        ledger: MutableMapping[str, Any] | None = None,
        positions: MutableMapping[str, int] | None = None,
        clock=time.time,
    ) -> None:
        self.pricer = pricer if isinstance(pricer, Pricer) else Pricer(pricer)
        self.catalog = self.pricer.catalog
        self.sessions = sessions
        self.seen = seen
        self.ledger: MutableMapping[str, Any] = {} if ledger is None else ledger
        self.positions: MutableMapping[str, int] = {} if positions is None else positions
        self.topic = topic
        self.dedup_window_s = dedup_window.total_seconds()
        self.clock = clock
        # Since this process started, per (tenant, partition, outcome): for Prometheus.
        self.counts: Counter[tuple[str, int, str]] = Counter()

    def process(self, value: bytes | None, partition: int, offset: int) -> Outcome:
        last = self.positions.get(str(partition))
        if last is not None and offset > last + 1:
            raise OffsetGap(partition, last + 1, offset)
        outcome = self._process(value, partition, offset)
        self.positions[str(partition)] = offset if last is None else max(last, offset)
        self.counts[(outcome.tenant_id, partition, outcome.status)] += 1
        key = f"{partition}:{outcome.tenant_id}"
        entry = self.ledger.get(key)
        if entry is None or offset > entry["offset"]:
            entry = dict(entry or {})
            entry[outcome.status] = entry.get(outcome.status, 0) + 1
            entry["offset"] = offset
        self.ledger[key] = entry
        return outcome

    def _process(self, value: bytes | None, partition: int, offset: int) -> Outcome:
        if not value:
            return _dead("empty message (no value)")
        if len(value) > MAX_MESSAGE_BYTES:
            return _dead(f"message of {len(value)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
        try:
            event = parse_usage_event(value)
        except InvalidUsageEvent as error:
            return _dead(f"invalid usage event: {error}", error.errors)

        event_key = str(event.event_id)
        first = self.seen.get(event_key)
        here = (partition, offset)
        seen_here = first is not None and (first["p"], first["o"]) == here
        if first is not None and not seen_here and self.clock() - first["t"] < self.dedup_window_s:
            return Outcome("duplicate", tenant_id=event.tenant_id)

        state = self.sessions.get(event.session_id)
        if state is not None and state["totals"]["tenant_id"] != event.tenant_id:
            return _dead(f"session {event.session_id} belongs to another tenant than {event.tenant_id}",
                         tenant_id=event.tenant_id)
        already_applied = state is not None and offset <= state["offset"]
        try:
            priced = self._price(event, partition, offset, replayed=seen_here or already_applied)
        except UnknownModelRejected as error:  # the tenant's policy: unknown models go to the DLQ
            return _dead(str(error), tenant_id=event.tenant_id)
        self.seen[event_key] = first if seen_here else {"p": partition, "o": offset, "t": self.clock()}
        if already_applied:
            self.sessions[event.session_id] = state
        else:
            self._apply(event, priced, state, offset)
        return Outcome(priced.status.value, tenant_id=event.tenant_id, priced=priced)

    def _price(self, event: UsageEvent, partition: int, offset: int, replayed: bool) -> PricedUsage:
        return self.pricer.price(event).model_copy(update={
            "source": SourcePosition(topic=self.topic, partition=partition, offset=offset),
            "replayed": replayed,
        })

    def _apply(self, event: UsageEvent, priced: PricedUsage, state: dict | None, offset: int) -> None:
        totals = (
            SessionTotals(tenant_id=event.tenant_id, session_id=event.session_id, currency=priced.currency)
            .model_dump(mode="json")
            if state is None
            else state["totals"]
        )
        self.sessions[event.session_id] = {"totals": add_to_totals_json(totals, priced), "offset": offset}

    def session_totals(self, session_id: str) -> SessionTotals | None:
        state = self.sessions.get(session_id)
        return None if state is None else SessionTotals.model_validate(state["totals"])

    def ledger_by_tenant(self) -> dict[str, dict[str, int]]:
        """The durable counts summed over partitions, per tenant and outcome."""
        totals: dict[str, Counter[str]] = {}
        for key, entry in self.ledger.items():
            tenant = key.split(":", 1)[1]
            counter = totals.setdefault(tenant, Counter())
            counter.update({name: entry.get(name, 0) for name in OUTCOMES})
        return {tenant: dict(counter) for tenant, counter in totals.items()}
