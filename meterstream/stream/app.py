"""The Faust worker: topics, the metering agent, its tables and the worker's HTTP views."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import timedelta
from urllib.parse import quote

import aiohttp
import faust
import orjson
from faust.streams import current_event
from faust.web import Request, Response, View

from meterstream.budgets.commands import spend_commands
from meterstream.budgets.process import BudgetOwnerProcess
from meterstream.failpoints import failpoint
from meterstream.metrics import CONTENT_TYPE, CounterCollector, exposition, registry_of
from meterstream.pricing import Pricer, load_catalog, load_tenants
from meterstream.schemas import PricedUsage
from meterstream.schemas.priced_batch import encode_priced
from meterstream.settings import Settings
from meterstream.stream.batch import BatchedTable
from meterstream.stream.table_store import stored_items, write_changes
from meterstream.stream.durable_commit import commit_only_sent_state
from meterstream.stream.faust_app import (
    Owners,
    app_config,
    make_current,
    messages_per_batch,
    proxy,
    stop_unless_delivered,
)
from meterstream.processes import stop_for_replay
from meterstream.stream.processor import DeadLetter, MeteringProcessor, OffsetGap, Outcome
from meterstream.stream.router import Router, stop_process
from meterstream.stream.quiet import quiet_libraries
from meterstream.stream.web_access import guard_worker_web
from meterstream.stream.routing import MAX_ITEMS_PER_MESSAGE, RoutedItem, decode_routed, home_partition
from meterstream.stream.topics import seen_events_changelog_config

log = logging.getLogger(__name__)

DLQ_REASON_HEADER = "meterstream-reason"
DLQ_ERRORS_HEADER = "meterstream-errors"
DLQ_SOURCE_HEADER = "meterstream-source"
DLQ_TENANT_HEADER = "meterstream-tenant"
# Only on an event of a batch envelope: its index there (the source header names the envelope).
DLQ_INDEX_HEADER = "meterstream-index"


def create_app(settings: Settings, budget_owner_url: str | None = None) -> faust.App:
    """The metering worker; `budget_owner_url`: the budget owner its /budgets views forward to."""
    quiet_libraries(settings)
    app = faust.App(settings.app_id, **app_config(settings))
    commit_only_sent_state(app)
    # The metering agent reads the router's output, never usage.events itself (routing.py).
    routed = app.topic(settings.topic_routed, key_type=bytes, value_type=bytes, key_serializer="raw",
                       value_serializer="raw", partitions=settings.topic_partitions)
    window = timedelta(days=settings.dedup_window_days)
    sessions = app.Table("sessions", partitions=settings.topic_partitions, key_type=str)
    ledger = app.Table("ledger", partitions=settings.topic_partitions, key_type=str)
    positions = app.Table("positions", partitions=settings.topic_partitions, key_type=str)
    # De-duplication ids past the window are deleted by the agent (expire_seen below), which
    # also sends their tombstones to the changelog. The local store is NOT opened in RocksDB's
    # TTL mode: as Faust opens it through rocksdict, its compactions dropped live entries (half
    # to all of the records of a compaction seconds after they were written; seen in the chaos
    # suite), and a later re-send of a forgotten event was counted again.
    seen = app.Table(
        "seen-events", partitions=settings.topic_partitions, key_type=str,
        extra_topic_configs=seen_events_changelog_config(settings),
    )
    tables = (sessions, seen, ledger, positions)
    held_tables = [BatchedTable(table, current_event, make_current) for table in tables]
    held_sessions, held_seen, held_ledger, held_positions = held_tables
    processor = MeteringProcessor(
        Pricer(load_catalog(settings.catalog), load_tenants(settings.tenant_pricing_file)), held_sessions, held_seen,
        settings.topic_events, dedup_window=window, ledger=held_ledger, positions=held_positions,
        stored_seen=lambda partition: stored_items(seen, partition),
    )

    @app.on_partitions_revoked.connect
    async def reindex_seen(sender: faust.App, revoked: set, **kwargs: object) -> None:
        # Partitions may come back with another worker's ids (restored from the changelog).
        processor.seen_index.forget()

    async def publish(outcomes: list[tuple[Outcome, RoutedItem, str]]) -> None:
        # Straight to the producer, not through Topic.send: Faust's channel machinery per
        # record cost more than metering the event (bench/, scenario 1 profile). Topics
        # exist before the worker starts (cli: ensure_topics), so nothing needs declaring.
        priced: dict[str, list[PricedUsage]] = {}
        for outcome, item, here in outcomes:
            if outcome.priced is not None:
                priced.setdefault(here, []).append(outcome.priced)
            elif outcome.dead_letter is not None:
                await dead_letter(outcome.dead_letter, outcome.tenant_id, item)
        # A few messages per home partition (schemas/priced_batch.py), keyed by one of its
        # sessions: with usage.priced partitioned like usage.routed (as the topics are
        # created) every record lands where a message of its own, keyed by its session, would.
        for records in priced.values():
            key = records[0].event.session_id.encode()
            for value in encode_priced(records):
                delivery = await app.producer.send(settings.topic_priced, key, value, None, None, None)
                delivery.add_done_callback(stop_unless_delivered)

    async def dead_letter(letter: DeadLetter, tenant_id: str, item: RoutedItem) -> None:
        """One message per dead letter: the original bytes, and why in the headers."""
        topic, _, partition = item.source.rpartition(":")
        where = f"{topic}[{partition}]@{item.offset}"
        log.warning("dead-lettered %s: %s", where, letter.reason[:500])
        headers = {
            DLQ_REASON_HEADER: letter.reason.encode(),
            DLQ_ERRORS_HEADER: json.dumps(letter.errors).encode(),
            DLQ_SOURCE_HEADER: where.encode(),
            DLQ_TENANT_HEADER: tenant_id.encode(),
        }
        if item.index is not None:
            headers[DLQ_INDEX_HEADER] = str(item.index).encode()
        delivery = await app.producer.send(settings.topic_dlq, item.key, item.value, None, None, headers)
        delivery.add_done_callback(stop_unless_delivered)

    # concurrency=1: with more, Faust can commit past a message still in flight (faust #606).
    # noack_take: the batch is acked by hand, only once its state and records are handed on.
    @app.agent(routed, concurrency=1)
    async def meter(stream: faust.Stream) -> None:
        per_batch = messages_per_batch(settings, MAX_ITEMS_PER_MESSAGE)
        async for batch in stream.noack_take(per_batch, settings.worker_batch_seconds):
            try:
                await meter_batch(batch)
            except Exception:
                # Faust would restart the agent and go on acking later messages past this batch.
                stop_for_replay("metering a batch failed", exc_info=True)
            for event in batch:
                await stream.ack(event)

    async def meter_batch(batch: list[faust.types.EventT]) -> None:
        outcomes: list[tuple[Outcome, RoutedItem, str]] = []
        for event in batch:
            message = event.message
            make_current(event)
            failpoint("worker.before_process")
            here = f"{message.topic}:{message.partition}"
            try:
                for item in decode_routed(message.value):
                    outcome = processor.process(item.value, message.partition, message.offset, item.source,
                                                item.offset, item.index)
                    outcomes.append((outcome, item, here))
            except OffsetGap as gap:  # nothing from here on may be acked
                stop_for_replay(str(gap), exit_code=75)
            except (ValueError, KeyError, TypeError) as error:  # only the router writes there
                log.critical("unreadable routed message %s@%d skipped: %r", here, message.offset, error)
        # Tombstones for ids past the window, a bounded number per batch, each sent to the
        # changelog partition that holds the id; a crash replays the batch and its expiry.
        budget = settings.dedup_expire_per_batch
        for event in {event.message.partition: event for event in batch}.values():
            make_current(event)
            budget -= processor.expire_seen(event.message.partition, budget)
            if budget <= 0:
                break
        for table, held in zip(tables, held_tables, strict=True):
            await write_changes(table, held)
        failpoint("worker.after_state")
        await publish(outcomes)
        if settings.budgets_enabled:
            await report_spend(outcomes)
        failpoint("worker.after_send")

    async def report_spend(outcomes: list[tuple[Outcome, RoutedItem, str]]) -> None:
        """Every priced record, replays included, goes to its tenant's budget owner. The
        ledger counts each position once, per (home partition, source partition): the
        order in which this partition got that source's messages."""
        metered = [(outcome.priced, f"{here}|{item.source}", item.offset, item.index)
                   for outcome, item, here in outcomes if outcome.priced is not None]
        for command in spend_commands(metered):
            delivery = await app.producer.send(settings.topic_budget_commands, command["tenant"].encode(),
                                               orjson.dumps(command), None, None, None)
            delivery.add_done_callback(stop_unless_delivered)

    registry = registry_of(CounterCollector(
        "meterstream_worker_messages", "Messages metered by this worker since it started, by outcome.",
        ("tenant", "partition", "outcome"), lambda: processor.counts,
    ))

    def active_partitions() -> set[int]:
        # With several workers a table also holds standby copies of other workers'
        # partitions; the listings show only the partitions this worker owns.
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == settings.topic_routed}

    def active_here(session_id: str) -> bool:
        return home_partition(session_id, settings.topic_partitions) in active_partitions()

    owners = Owners(app, settings.worker_headers())

    @app.page("/sessions/{session_id}")
    class SessionView(View):
        async def get(self, request: Request, session_id: str) -> Response:
            def read() -> bytes | None:
                totals = processor.session_totals(session_id)
                return None if totals is None else totals.model_dump_json().encode()
            return await owners.answer(self, request, sessions, session_id, read, f"unknown session {session_id}")

    @app.page("/sessions")
    class SessionsView(View):
        """Every session this worker owns, in short (for reconciliation)."""

        async def get(self, request: Request) -> Response:
            return self.json({
                session_id: {"tenant_id": state["totals"]["tenant_id"], "operations": state["totals"]["operations"],
                             "total_cost": state["totals"]["total_cost"]}
                for session_id, state in sessions.items() if active_here(session_id)
            })

    @app.page("/assignment")
    class AssignmentView(View):
        """The home partitions this worker meters now (each session and tenant lives in one)."""

        async def get(self, request: Request) -> Response:
            return self.json({"partitions": sorted(active_partitions()), "of": settings.topic_partitions})

    @app.page("/ledger")
    class LedgerView(View):
        """The counts of the partitions this worker owns (it may hold standby copies of others);
        `?tenant_id=` narrows them to one tenant. Summed over the workers: reconcile."""

        async def get(self, request: Request) -> Response:
            return self.json(processor.ledger_by_tenant(active_partitions(), request.query.get("tenant_id")))

    @app.page("/ledger/{tenant_id}")
    class TenantLedgerView(View):
        """A tenant's counts over every partition, whichever worker owns it: this worker's own
        plus each other worker's /ledger for the tenant (its sessions live in all partitions)."""

        async def get(self, request: Request, tenant_id: str) -> Response:
            own = processor.ledger_by_tenant(active_partitions(), tenant_id)
            counts: Counter[str] = Counter(own.get(tenant_id, {}))
            try:
                for answer in await owners.from_peers(f"/ledger?tenant_id={quote(tenant_id, safe='')}"):
                    counts.update(answer.get(tenant_id, {}))
            except (aiohttp.ClientError, OSError) as error:  # a part would pass for the whole: say so
                return self.json({"detail": f"a worker of the group did not answer for its partitions: {error}"},
                                 status=503)
            return self.json(dict(counts))

    @app.page("/budgets/{tenant_id}")
    class BudgetsView(View):
        """A tenant's budget state: the budget owner's answer (it finds the tenant's owner)."""

        async def get(self, request: Request, tenant_id: str) -> Response:
            if budget_owner_url is None:
                return self.json({"detail": "this worker runs no budget owner"}, status=503)
            return await proxy(app, self, f"{budget_owner_url}{request.path}", settings.worker_headers())

    @app.page("/metrics")
    class MetricsView(View):
        """This worker's metrics, then its budget owner's: one scrape for the whole worker."""

        async def get(self, request: Request) -> Response:
            text = exposition(registry)
            if budget_owner_url is not None:
                try:
                    async with app.http_client.get(f"{budget_owner_url}/metrics",
                                                   headers=settings.worker_headers()) as answer:
                        text += await answer.read()
                except OSError as error:  # starting, or stopping: this worker's own still count
                    log.info("budget owner metrics unavailable: %r", error)
            return self.bytes(text, content_type=CONTENT_TYPE)

    @app.task
    async def route_events() -> None:
        Router(settings, on_fatal=stop_process).start()

    guard_worker_web(app, settings)
    app.metering = processor  # type: ignore[attr-defined]  # reached by tests and the CLI
    return app


def run_worker(settings: Settings, loglevel: str = "warning", budget_owner: bool = True) -> None:
    """Run the worker until it is stopped (SIGTERM / Ctrl-C), with the budget owner beside it
    in a process of its own (budgets/owner.py says why) unless budgets are off or run elsewhere."""
    owner = None
    if settings.budgets_enabled and budget_owner:
        # The worker exits with the child's own code (a failpoint's, in the chaos suite), 72 if it had none.
        owner = BudgetOwnerProcess(settings, on_exit=lambda why, code: stop_for_replay(
            why, exit_code=code if code > 0 else 72)).start()
    app = create_app(settings, owner.url if owner else None)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    # Faust's startup spinner sets the root logger to DEBUG so that it ticks on every record:
    # every debug call in aiokafka and Faust then built a LogRecord per message (6% of the
    # worker's CPU in py-spy) only for the handler to drop it.
    worker.spinner = None
    try:
        worker.execute_from_commandline()
    finally:
        if owner is not None:
            owner.stop()
