"""The budget owner: applies the budget commands of the partitions it owns, in order.

A process of its own (`meterstream budget-owner`, or a child of `meterstream worker`:
process.py), with its own consumer group, so budget decisions never queue behind a
metering backlog. A plain confluent-kafka loop, not a Faust agent: as an agent it spent
about 0.9 ms of CPU per command (Faust's per-message machinery, its aiokafka producer and
changelog table), so 1,000 reservations a second and their releases needed more than the
two cores of the machine it was measured on (BENCHMARKS.md, scenario 8). The rules are in
ledger.py; this wires them to Kafka:

- the loop takes what has arrived (up to a batch), applies each command through the
  ledger, sends each tenant entry the batch changed once to the changelog, then the alerts
  the commands raised (one idempotent producer, acks from every replica), then the replies:
  straight to the port the asking client named, or on the replies topic (replies.py; a
  producer of their own with no linger); a reply needs no durability, see below;
- once a second the loop notes the offsets it has applied, and commits them as soon as
  Kafka has acknowledged every changelog write and alert sent before (the loop goes on
  meanwhile: a flush here held every command that arrived for ~25 ms each second, which
  was the p99 at 1,000 reservations/s); before a partition is given up it flushes and
  commits at once; a send that failed stops the owner (a restart replays from the last
  commit);
- the state is in memory (store.py): a partition's tenant entries are read back from the
  compacted changelog when the partition is assigned, and dropped when it is revoked.

Exactly once across kill -9 (at-least-once delivery, idempotent rules): after a crash the
changelog holds, per tenant, an entry at least as new as the last commit; the commands
after the commit are replayed, the ledger skips those the entry already counts (its
per-partition offsets) and sends their replies and alerts again. A reply may leave before
the state it reflects is durable: a decision depends only on the state and the command, so
the replay decides the same again.

A timer finds holds past their expiry (an index, expiry.py) and sends an `expire` command
for them, so the release is decided in order with everything else.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, Producer, TopicPartition

from meterstream.budgets import commands
from meterstream.budgets.expiry import HoldIndex
from meterstream.budgets.ledger import BudgetLedger, Output
from meterstream.budgets.process import owner_url
from meterstream.budgets.replies import DirectReplier
from meterstream.budgets.store import OwnedState, encode_entry, encode_key
from meterstream.budgets.web import OwnerDirectory, owner_client_id, serve
from meterstream.failpoints import failpoint
from meterstream.metrics import CounterCollector, exposition, registry_of
from meterstream.processes import stop_for_replay
from meterstream.runtime import freeze_startup_objects
from meterstream.settings import Settings
from meterstream.stream.topics import BUDGET_ENTRY_MAX_BYTES, budget_owner_id, changelog_topic

log = logging.getLogger(__name__)

EXPIRE_EVERY_SECONDS = 1.0
MAX_EXPIRE_IDS = 500
COMMIT_EVERY_SECONDS = 1.0
# Commands taken from the consumer at once at most, and how long applying them may go on
# before what they changed and produced is sent.
MAX_BATCH_MESSAGES = 500
SEND_EVERY_SECONDS = 0.005
# Partitions' changelogs read back at assignment: how long a silent broker may take.
RESTORE_TIMEOUT_SECONDS = 120.0


def reply_producer(settings: Settings) -> Producer:
    return Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 0, "acks": 1})


class BudgetOwner:
    def __init__(self, settings: Settings, url: str) -> None:
        self.settings = settings
        self.changelog = changelog_topic(settings, "budgets")
        self.state = OwnedState()
        self.ledger = BudgetLedger(self.state, max_open_holds=settings.max_open_reservations)
        self.holds = HoldIndex()
        self.lock = threading.Lock()  # the loop applies a batch, or the HTTP thread reads: not both
        self.assigned: frozenset[int] = frozenset()
        self.next_offsets: dict[int, int] = {}  # applied: partition -> next offset
        self.committed: dict[int, int] = {}
        self.acks = Acknowledgements()
        # Offsets applied at a moment, and how many sends came before them: committed once those are acknowledged.
        self.to_commit: tuple[dict[int, int], int] | None = None
        # Since this process started, per (tenant, kind): for Prometheus.
        self.commands: Counter[tuple[str, str]] = Counter()
        self.alerts: Counter[tuple[str, str]] = Counter()
        self.registry = registry_of(CounterCollector(
            "meterstream_budget_commands", "Budget commands applied by this budget owner since it started, by kind.",
            ("tenant", "kind"), lambda: self.commands,
        ), CounterCollector(
            "meterstream_alerts_raised", "Alerts raised by this budget owner since it started, by kind.",
            ("tenant", "kind"), lambda: self.alerts,
        ))
        self.consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap, "group.id": budget_owner_id(settings),
            "client.id": owner_client_id(url), "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": int(settings.consumer_session_timeout * 1000),
            "heartbeat.interval.ms": int(settings.consumer_session_timeout * 250),
        })
        self.producer = Producer({
            "bootstrap.servers": settings.kafka_bootstrap, "acks": "all", "enable.idempotence": True,
            "linger.ms": 5, "compression.type": "lz4", "message.max.bytes": BUDGET_ENTRY_MAX_BYTES,
        })
        self.replies = reply_producer(settings)
        self.direct_replies = DirectReplier()
        self._stopping = threading.Event()

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        self.consumer.subscribe([self.settings.topic_budget_commands], on_assign=self._assigned,
                                on_revoke=self._revoked, on_lost=self._lost)
        committed_at = expired_at = time.monotonic()
        try:
            while not self._stopping.is_set():
                first = self.consumer.poll(0.1)
                if first is not None:
                    self.apply_batch([first, *self.consumer.consume(MAX_BATCH_MESSAGES - 1, timeout=0)])
                now = time.monotonic()
                if now - expired_at >= EXPIRE_EVERY_SECONDS:
                    self.send_expiries()
                    expired_at = now
                if self.to_commit is None and now - committed_at >= COMMIT_EVERY_SECONDS:
                    self.to_commit, committed_at = (dict(self.next_offsets), self.acks.sent), now
                if self.to_commit is not None:
                    self.commit_acknowledged()
            self.commit()
        finally:
            self.consumer.close()
            self.replies.flush(5)
            self.direct_replies.close()

    def stop(self) -> None:
        self._stopping.set()

    def apply_batch(self, messages: list[Message]) -> None:
        """Apply what arrived, sending what it changed and produced every few milliseconds: a
        catch-up's spend commands (up to MAX_SPEND_ITEMS events each) must not hold back the
        replies to reservations behind them."""
        outputs: list[tuple[Output, str | None]] = []
        started = time.monotonic()
        for message in messages:
            if message.error() is not None:
                self._consumer_error(message.error())
                continue
            with self.lock:  # per command: the HTTP thread reads between them
                outputs += self._apply(message)
            failpoint("budgets.after_apply")
            if time.monotonic() - started > SEND_EVERY_SECONDS:
                self._send(outputs)
                outputs, started = [], time.monotonic()
        self._send(outputs)
        failpoint("budgets.after_send")

    def _apply(self, message: Message) -> list[tuple[Output, str | None]]:
        """What the command produced, each with where its reply goes (None: the replies topic)."""
        partition, offset = message.partition(), message.offset()
        self.state.partition = partition
        self.next_offsets[partition] = offset + 1
        try:
            command = orjson.loads(message.value())
            outputs = self.ledger.apply(command, partition, offset)
        except (ValueError, KeyError, TypeError) as error:  # only our own senders write here
            log.error("budget command %s[%d]@%d ignored: %r", message.topic(), partition, offset, error)
            return []
        self.commands[(command["tenant"], command["kind"])] += 1
        reply_to = command.get("reply_to")
        return [(output, reply_to) for output in outputs]

    def _send(self, outputs: list[tuple[Output, str | None]]) -> None:
        """Each tenant entry changed since the last call, once, then the alerts, then the replies."""
        with self.lock:  # encoded under the lock: the next command changes the entries in place
            writes = self.state.take_writes()
            encoded = [(encode_key(key), partition, encode_entry(entry)) for key, partition, entry in writes]
        self.holds.note((key, entry) for key, _, entry in writes)
        for key, partition, value in encoded:
            self.producer.produce(self.changelog, value, key, partition=partition, on_delivery=self.acks.on_delivery())
        direct: dict[str, list[bytes]] = {}
        for output, reply_to in outputs:
            if output.kind == "alert":
                with self.lock:  # the metrics read it from the HTTP thread
                    self.alerts[(output.key, output.value["kind"])] += 1
                self.producer.produce(self.settings.topic_alerts, orjson.dumps(output.value), output.key.encode(),
                                      on_delivery=self.acks.on_delivery())
            elif reply_to:
                direct.setdefault(reply_to, []).append(orjson.dumps(output.value))
            else:
                self.replies.produce(self.settings.topic_budget_replies, orjson.dumps(output.value),
                                     output.key.encode())
        self.direct_replies.send(direct)
        self.replies.poll(0)
        self.producer.poll(0)

    def commit_acknowledged(self) -> None:
        """Commit the offsets noted last, if everything sent before them is acknowledged."""
        assert self.to_commit is not None
        self.producer.poll(0)  # serves the delivery reports
        offsets, sent_before = self.to_commit
        if self.acks.confirmed(sent_before):
            self.to_commit = None
            self._commit(offsets)

    def commit(self) -> None:
        """Commit everything applied, once everything it sent is acknowledged (waits)."""
        if self.producer.flush(30) > 0:
            stop_for_replay("the budget owner's changelog writes and alerts were not acknowledged in 30 s")
        self.to_commit = None
        self._commit(dict(self.next_offsets))

    def _commit(self, offsets: dict[int, int]) -> None:
        changed = [TopicPartition(self.settings.topic_budget_commands, partition, offset)
                   for partition, offset in offsets.items() if self.committed.get(partition) != offset]
        if not changed:
            return
        self.consumer.commit(offsets=changed, asynchronous=False)
        self.committed.update((tp.partition, tp.offset) for tp in changed)
        failpoint("budgets.after_commit")

    def _consumer_error(self, error: KafkaError) -> None:
        if error.fatal():
            stop_for_replay(f"the budget owner's consumer failed: {error}")
        log.warning("budget commands: %s", error)

    # -- expiry -----------------------------------------------------------------------------------

    def due_expiries(self, now: datetime) -> Iterator[dict[str, Any]]:
        """`expire` commands for the holds here that are past due, a few hundred ids each."""
        with self.lock:
            due = self.holds.due(now, lambda: list(self.state.items()))
        for tenant, ids in due.items():
            for start in range(0, len(ids), MAX_EXPIRE_IDS):
                yield commands.expire(tenant, ids[start:start + MAX_EXPIRE_IDS], at=now)

    def send_expiries(self) -> None:
        for command in self.due_expiries(datetime.now(UTC)):
            self.producer.produce(self.settings.topic_budget_commands, orjson.dumps(command),
                                  command["tenant"].encode(), on_delivery=_logged_if_lost)

    # -- partitions coming and going --------------------------------------------------------------

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        numbers = [tp.partition for tp in partitions]
        restored = self.restore(numbers)
        with self.lock:
            self.assigned = self.assigned | set(numbers)
        log.info("budget owner: partitions %s assigned, %d tenant entries restored", numbers, restored)

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.commit()
        self._forget(partitions)

    def _lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Another owner may have these now: nothing applied since the last commit may be committed.
        self._forget(partitions)

    def _forget(self, partitions: list[TopicPartition]) -> None:
        numbers = {tp.partition for tp in partitions}
        for partition in numbers:
            self.next_offsets.pop(partition, None)
            self.committed.pop(partition, None)
            if self.to_commit is not None:
                self.to_commit[0].pop(partition, None)
        with self.lock:
            self.assigned = self.assigned - numbers
            self.state.drop(numbers)
            self.holds = HoldIndex()  # built afresh from what is left at its first use

    def restore(self, partitions: list[int]) -> int:
        """Read the partitions' changelog from the start to its end now; the entries they hold."""
        if not partitions:
            return 0
        reader = Consumer({"bootstrap.servers": self.settings.kafka_bootstrap, "enable.auto.commit": False,
                           "group.id": f"{budget_owner_id(self.settings)}-restore", "enable.partition.eof": True})
        try:
            ends = {p: reader.get_watermark_offsets(TopicPartition(self.changelog, p), timeout=30) for p in partitions}
            pending = {p for p, (low, high) in ends.items() if high > low}
            records: dict[int, list[tuple[bytes, bytes | None]]] = {p: [] for p in partitions}
            reader.assign([TopicPartition(self.changelog, p, OFFSET_BEGINNING) for p in pending])
            deadline = time.monotonic() + RESTORE_TIMEOUT_SECONDS
            while pending:
                if time.monotonic() > deadline:
                    stop_for_replay(f"the budget changelog partitions {sorted(pending)} were not read back "
                                    f"within {RESTORE_TIMEOUT_SECONDS:.0f} s")
                for message in reader.consume(1000, timeout=0.5):
                    partition = message.partition()
                    if message.error() is not None:
                        if message.error().code() == KafkaError._PARTITION_EOF:
                            pending.discard(partition)
                            continue
                        raise RuntimeError(f"reading back the budget changelog: {message.error()}")
                    records[partition].append((message.key(), message.value()))
                    if message.offset() >= ends[partition][1] - 1:
                        pending.discard(partition)
        finally:
            reader.close()
        with self.lock:
            return sum(self.state.restore(p, records[p]) for p in partitions)

    # -- what the HTTP endpoints read (web.py) ----------------------------------------------------

    def owns(self, partition: int) -> bool:
        return partition in self.assigned

    def tenant_state_json(self, tenant_id: str) -> bytes | None:
        with self.lock:
            state = self.ledger.tenant_state(tenant_id)
            return None if state is None else orjson.dumps(state)

    def metrics(self) -> bytes:
        with self.lock:
            return exposition(self.registry)


class Acknowledgements:
    """Which of the owner's changelog writes and alerts Kafka has acknowledged, counted in the
    order they were sent."""

    def __init__(self) -> None:
        self.sent = 0
        self._unacknowledged: set[int] = set()

    def on_delivery(self) -> Callable[[KafkaError | None, Message], None]:
        number = self.sent
        self.sent += 1
        self._unacknowledged.add(number)

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                stop_for_replay(f"a budget changelog write or alert was not delivered ({error})")
            self._unacknowledged.discard(number)
        return delivered

    def confirmed(self, sent_before: int) -> bool:
        """Whether every send numbered below `sent_before` is acknowledged."""
        return not self._unacknowledged or min(self._unacknowledged) >= sent_before


def _logged_if_lost(error: KafkaError | None, message: Message) -> None:
    if error is not None:  # the next second's timer sends the expiry again
        log.warning("an expire command was not delivered: %s", error)


def run_budget_owner(settings: Settings, web_port: int) -> None:
    """Run the budget owner until it is stopped (SIGTERM / Ctrl-C)."""
    owner = BudgetOwner(settings, owner_url(settings, web_port))
    server = serve(owner, settings, web_port, OwnerDirectory(settings, budget_owner_id(settings)))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: owner.stop())
    freeze_startup_objects()
    try:
        owner.run()
    finally:
        server.shutdown()
