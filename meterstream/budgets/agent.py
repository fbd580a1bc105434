"""The budget owner's agent: it applies budget commands (the app around it: budgets/app.py).

Thin: the rules are in ledger.py. This wires them to Kafka:
- the agent reads `usage.budget-commands` (keyed by tenant) in small batches, applies each
  command through the ledger, writes the batch's table entries once, then sends what the
  commands produced, and acks only after that;
- alerts go through the app's producer, and a lost alert stops the budget owner before the
  offset commit (so a restart replays the command, and the ledger re-sends the alert);
- replies to the API and CLI go through a producer of their own with no linger: a reply
  lost in a crash is produced again when the command is replayed, and a sender that got
  no answer asks again with the same request id, so replies need no durability of their
  own, and waiting 50 ms for the app's batched producer would be most of a
  reservation's latency;
- a timer finds holds past their expiry and sends an `expire` command for them, so the
  release is decided in order with everything else (and survives a crash like the rest).
  It reads an index of hold expiries (expiry.py), not the whole table.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from confluent_kafka import Producer

from meterstream.budgets import commands
from meterstream.budgets.expiry import HoldIndex
from meterstream.budgets.ledger import BudgetLedger, Output
from meterstream.settings import Settings
from meterstream.stream.batch import BatchedTable

log = logging.getLogger(__name__)

EXPIRE_EVERY_SECONDS = 1.0
MAX_EXPIRE_IDS = 500


def reply_producer(settings: Settings) -> Producer:
    return Producer({"bootstrap.servers": settings.kafka_bootstrap, "linger.ms": 0, "acks": 1})


class BudgetAgent:
    def __init__(self, app: faust.App, settings: Settings, table: faust.Table,
                 held: BatchedTable, on_sent: Callable[[Any], None]) -> None:
        self.app, self.settings, self.table, self.held = app, settings, table, held
        self.ledger = BudgetLedger(held, max_open_holds=settings.max_open_reservations)
        self.on_sent = on_sent  # the worker's check that an alert was delivered
        self._replies: Producer | None = None  # made on the first reply
        # Since this process started, per (tenant, kind): for Prometheus.
        self.commands: Counter[tuple[str, str]] = Counter()
        self.alerts: Counter[tuple[str, str]] = Counter()
        self.holds = HoldIndex()

    async def apply_batch(self, batch: list[faust.types.EventT], make_current) -> None:
        outputs: list[Output] = []
        for event in batch:
            message = event.message
            make_current(event)
            try:
                command = orjson.loads(message.value)
                outputs += self.ledger.apply(command, message.partition, message.offset)
            except (ValueError, KeyError, TypeError) as error:  # only our own senders write here
                log.error("budget command %s[%d]@%d ignored: %r", message.topic, message.partition,
                          message.offset, error)
                continue
            self.commands[(command["tenant"], command["kind"])] += 1
        self.holds.note(self.held.pending())
        self.held.flush()
        for output in outputs:
            if output.kind == "alert":
                self.alerts[(output.key, output.value["kind"])] += 1
                delivery = await self.app.producer.send(self.settings.topic_alerts, output.key.encode(),
                                                        orjson.dumps(output.value), None, None, None)
                delivery.add_done_callback(self.on_sent)
            else:
                self.replies.produce(self.settings.topic_budget_replies, orjson.dumps(output.value),
                                     key=output.key.encode())
        if self._replies is not None:
            self._replies.poll(0)

    @property
    def replies(self) -> Producer:
        if self._replies is None:
            self._replies = reply_producer(self.settings)
        return self._replies

    def due_expiries(self, now: datetime) -> Iterator[dict[str, Any]]:
        """`expire` commands for the holds here that are past due, a few hundred ids each."""
        for tenant, ids in self.holds.due(now, self.table.items).items():
            for start in range(0, len(ids), MAX_EXPIRE_IDS):
                yield commands.expire(tenant, ids[start:start + MAX_EXPIRE_IDS], at=now)

    async def send_expiries(self) -> None:
        for command in self.due_expiries(datetime.now(UTC)):
            await self.app.producer.send(self.settings.topic_budget_commands, command["tenant"].encode(),
                                         orjson.dumps(command), None, None, None)

    def tenant_state(self, tenant_id: str) -> dict[str, Any] | None:
        return self.ledger.tenant_state(tenant_id)


# A spend command stays far below the broker's 1 MB message limit (an item is ~400 bytes):
# a batch replayed after a crash can hold hundreds of thousands of one tenant's events.
MAX_SPEND_ITEMS = 1000


def spend_commands(metered: list[tuple[Any, str, int]]) -> list[dict[str, Any]]:
    """Budget spend commands for a batch's priced records: per tenant and source partition, in
    offset order, at most MAX_SPEND_ITEMS items each. `metered` holds (priced record,
    source, offset)."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for priced, source, offset in metered:
        grouped.setdefault((priced.event.tenant_id, source), []).append(commands.spend_item(priced, offset))
    return [commands.spend(tenant, source, items[start:start + MAX_SPEND_ITEMS])
            for (tenant, source), items in grouped.items() for start in range(0, len(items), MAX_SPEND_ITEMS)]
