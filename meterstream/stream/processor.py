"""The metering step for one message: validate, de-duplicate, price, update session totals.

Kept free of Faust so its rules are tested directly; the Faust agent (app.py) only feeds
it messages and sends what it returns. State lives in three mappings that the agent backs
with changelog tables, and every change to them is idempotent under replay (a crash
re-delivers everything after the last committed offset):

Every message carries two positions. Where the worker read it (`partition`, `offset` on
`usage.routed`) only serves to notice skipped messages. Where it was first produced
(`source` = "topic:partition" on `usage.events`, `source_offset`) is what the guards use:
the router (routing.py) forwards every message of a session to the session's one home
partition, keeping each source partition's order, and forwards a message again after a
crash, so the original position is what identifies a message. An event of a batch
envelope (schemas/envelope.py) is identified by its message's position and its index in the
envelope; positions compare as (offset, index), a single-event message sorting after every
index at its offset, and a single event's stored position is the bare offset it always was,
so state written before envelopes keeps its meaning:

- `seen` maps event_id -> the source position where it was first accepted (`i`: its index,
  for an event of an envelope) and what it said (`content_fingerprint`). The same event_id
  at another position (another offset, or another index of the same envelope) is a
  duplicate send, or a `conflict` when its content differs (counted apart, dropped all the
  same: the first one counts); at the same position it is a replay, which is processed
  again (its priced record may never have left) and flagged `replayed`.
- `sessions` maps session_id -> {totals, offsets: {source: position}}: a position at or
  below the one stored for its source was already applied (a kill -9 in the middle of an
  envelope replays its events; those applied before are recognised one by one). A session
  may get events from any source partition; each source's positions are comparable among
  themselves.
- `ledger` maps "partition|source|tenant" -> counts of each outcome, with the same guard:
  the reconciliation ledger, exact across crashes (written from one home partition only).
  Ids expire a full window after they were first seen (expiry.py): `expire_seen` deletes
  them, through the same held writes, so their tombstones go out with the batch's state.
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
import uuid
from collections import Counter
from collections.abc import Callable, Container, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from meterstream.errors import InvalidUsageEvent, MeterstreamError
from meterstream.pricing import Catalog, Pricer, UsageRejected
from meterstream.pricing.trusted import trusted
from meterstream.schemas import (
    PricedUsage,
    SessionTotals,
    SourcePosition,
    UsageEvent,
    add_to_totals_json,
    content_fingerprint,
    parse_usage_event,
)
from meterstream.schemas.envelope import (
    MalformedEnvelope,
    envelope_events,
    is_envelope,
    position,
    restored_position,
    stored_position,
)
from meterstream.stream.expiry import SeenIndex, within_window

# A usage event is a few hundred bytes; anything this large is garbage or abuse.
MAX_MESSAGE_BYTES = 64 * 1024
UNKNOWN_TENANT = "(unknown)"
OUTCOMES = ("priced", "unpriced", "duplicate", "conflict", "dead_letter")
# The pricer's record with its position, built the way the pricer builds it (pricing/trusted.py):
# model_copy() and a validated SourcePosition cost more per event than pricing it (bench/).
_placed = trusted(PricedUsage)
_position = trusted(SourcePosition)


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


def envelope_problem(value: bytes) -> str | None:
    """Why a message marked as a batch envelope came whole (the router splits readable ones)."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not is_envelope(document):
        return None
    try:
        envelope_events(document)
    except MalformedEnvelope as error:
        return str(error)
    return "a batch envelope routed whole (by a worker older than envelopes)"


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
        stored_seen: Callable[[int], Iterable[tuple[str, Any]]] = lambda partition: (),
    ) -> None:
        """`stored_seen(partition)`: what the `seen` table holds for a partition, (id, entry)
        pairs, read to index ids this process did not write (after a restart or a rebalance)."""
        self.pricer = pricer if isinstance(pricer, Pricer) else Pricer(pricer)
        self.catalog = self.pricer.catalog
        self.sessions = sessions
        self.seen = seen
        self.ledger: MutableMapping[str, Any] = {} if ledger is None else ledger
        self.positions: MutableMapping[str, int] = {} if positions is None else positions
        self.topic = topic
        self.dedup_window_s = dedup_window.total_seconds()
        self.clock = clock
        self.seen_index = SeenIndex(self.dedup_window_s, stored_seen)
        # Since this process started, per (tenant, partition, outcome): for Prometheus.
        self.counts: Counter[tuple[str, int, str]] = Counter()

    def process(self, value: bytes | None, partition: int, offset: int, source: str | None = None,
                source_offset: int | None = None, index: int | None = None) -> Outcome:
        """Meter one message read at `partition`/`offset`, first produced at `source`/`source_offset`
        (by default the same place: a message read straight from the source topic); `index`:
        the event's place in its batch envelope, None for a single-event message."""
        source = source or f"{self.topic}:{partition}"
        source_offset = offset if source_offset is None else source_offset
        last = self.positions.get(str(partition))
        if last is not None and offset > last + 1:
            raise OffsetGap(partition, last + 1, offset)
        outcome = self._process(value, partition, source, source_offset, index)
        self.positions[str(partition)] = offset if last is None else max(last, offset)
        self.counts[(outcome.tenant_id, partition, outcome.status)] += 1
        key = f"{partition}|{source}|{outcome.tenant_id}"
        entry = self.ledger.get(key)
        if entry is None or position(source_offset, index) > restored_position(entry["offset"]):
            entry = dict(entry or {})
            entry[outcome.status] = entry.get(outcome.status, 0) + 1
            entry["offset"] = stored_position(source_offset, index)
        self.ledger[key] = entry
        return outcome

    def _process(self, value: bytes | None, partition: int, source: str, offset: int,
                 index: int | None) -> Outcome:
        if not value:
            return _dead("empty message (no value)")
        if len(value) > MAX_MESSAGE_BYTES:
            return _dead(f"message of {len(value)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
        try:
            event = parse_usage_event(value)
        except InvalidUsageEvent as error:
            return _dead(envelope_problem(value) or f"invalid usage event: {error}", error.errors)

        event_key = str(event.event_id)
        first = self.seen.get(event_key)
        seen_here = first is not None and (first["s"], first["o"], first.get("i")) == (source, offset, index)
        if first is not None and not seen_here and within_window(first["t"], self.clock(), self.dedup_window_s):
            said = first.get("h")  # ids seen before fingerprints were kept count as plain duplicates
            conflict = said is not None and said != content_fingerprint(event)
            return Outcome("conflict" if conflict else "duplicate", tenant_id=event.tenant_id)

        state = self.sessions.get(event.session_id)
        if state is not None and state["totals"]["tenant_id"] != event.tenant_id:
            return _dead(f"session {event.session_id} belongs to another tenant than {event.tenant_id}",
                         tenant_id=event.tenant_id)
        already_applied = state is not None and position(offset, index) <= restored_position(
            state["offsets"].get(source, -1))
        try:
            priced = self._price(event, source, offset, replayed=seen_here or already_applied)
        except UsageRejected as error:  # the tenant's policy: unknown models (or unpriceable usage) go to the DLQ
            return _dead(str(error), tenant_id=event.tenant_id)
        if not seen_here:
            now = self.clock()
            first = {"s": source, "o": offset, "t": now, "h": content_fingerprint(event)}
            if index is not None:
                first["i"] = index
            self.seen_index.note(partition, event.event_id, now)
        self.seen[event_key] = first
        if already_applied:
            self.sessions[event.session_id] = state
        else:
            self._apply(event, priced, state, source, stored_position(offset, index))
        return Outcome(priced.status.value, tenant_id=event.tenant_id, priced=priced)

    def expire_seen(self, partition: int, limit: int) -> int:
        """Delete up to `limit` ids of `partition` that are past the window; returns how many.
        Reads and deletes go through `seen` like the batch's own (under its current event)."""
        now = self.clock()
        deleted = 0
        for key in self.seen_index.due(partition, now, limit):
            entry = self.seen.get(key)
            if entry is None:  # deleted already, by an earlier candidate for the same id
                continue
            if within_window(entry["t"], now, self.dedup_window_s):  # accepted again since
                self.seen_index.note(partition, uuid.UUID(key), entry["t"])
                continue
            del self.seen[key]
            deleted += 1
        return deleted

    def _price(self, event: UsageEvent, source: str, offset: int, replayed: bool) -> PricedUsage:
        topic, _, partition = source.rpartition(":")
        record = dict(self.pricer.price(event).__dict__)
        record["source"] = _position({"topic": topic, "partition": int(partition), "offset": offset})
        record["replayed"] = replayed
        return _placed(record)

    def _apply(self, event: UsageEvent, priced: PricedUsage, state: dict | None, source: str,
               applied: int | list[int]) -> None:
        if state is None:
            totals = SessionTotals(tenant_id=event.tenant_id, session_id=event.session_id,
                                   currency=priced.currency).model_dump(mode="json")
            offsets: dict[str, int | list[int]] = {}
        else:
            totals, offsets = state["totals"], state["offsets"]
        self.sessions[event.session_id] = {"totals": add_to_totals_json(totals, priced),
                                           "offsets": {**offsets, source: applied}}

    def session_totals(self, session_id: str) -> SessionTotals | None:
        state = self.sessions.get(session_id)
        return None if state is None else SessionTotals.model_validate(state["totals"])

    def ledger_by_tenant(self, partitions: Container[int] | None = None,
                         tenant_id: str | None = None) -> dict[str, dict[str, int]]:
        """The durable counts summed over partitions (all, or those in `partitions`), per tenant
        (all, or `tenant_id` alone) and outcome."""
        totals: dict[str, Counter[str]] = {}
        for key, entry in self.ledger.items():
            partition, _, tenant = key.split("|")
            if (partitions is not None and int(partition) not in partitions) or tenant_id not in (None, tenant):
                continue
            counter = totals.setdefault(tenant, Counter())
            counter.update({name: entry.get(name, 0) for name in OUTCOMES})
        return {tenant: dict(counter) for tenant, counter in totals.items()}
