"""The Faust worker: topics, the metering agent, its tables and the worker's HTTP views."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import weakref
from collections.abc import Callable
from datetime import timedelta
from typing import NoReturn

import faust
import orjson
from faust.streams import _current_event, current_event
from faust.web import Request, Response, View

from meterstream.budgets.agent import EXPIRE_EVERY_SECONDS, BudgetAgent, spend_commands
from meterstream.failpoints import failpoint
from meterstream.metrics import CONTENT_TYPE, CounterCollector, exposition, registry_of
from meterstream.pricing import Pricer, load_catalog, load_tenants
from meterstream.settings import Settings
from meterstream.stream.batch import BatchedTable
from meterstream.stream.durable_commit import commit_only_sent_state
from meterstream.stream.topics import BUDGET_ENTRY_MAX_BYTES, seen_events_changelog_config
from meterstream.stream.processor import MeteringProcessor, OffsetGap, Outcome
from meterstream.stream.router import Router, stop_process
from meterstream.stream.quiet import quiet_libraries
from meterstream.stream.web_access import guard_worker_web
from meterstream.stream.routing import RoutedItem, decode_routed, home_partition

log = logging.getLogger(__name__)

DLQ_REASON_HEADER = "meterstream-reason"
DLQ_ERRORS_HEADER = "meterstream-errors"
DLQ_SOURCE_HEADER = "meterstream-source"
DLQ_TENANT_HEADER = "meterstream-tenant"


def app_config(settings: Settings) -> dict[str, object]:
    """The Faust settings of the worker (also used by bench/ to measure Faust's own floor)."""
    return dict(
        broker=f"kafka://{settings.kafka_bootstrap}",
        store=settings.store,
        datadir=str(settings.data_dir / "worker"),
        web_host=settings.worker_host,
        web_port=settings.worker_port,
        web_in_thread=False,
        topic_partitions=settings.topic_partitions,
        # Topics Faust would create itself get the cluster's replication (ensure_topics makes them first).
        topic_replication_factor=settings.topic_replication_factor,
        producer_acks=-1,
        broker_commit_interval=1.0,
        stream_wait_empty=True,
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.consumer_session_timeout,
        broker_heartbeat_interval=settings.consumer_session_timeout / 4,
        # aiokafka appends to one batch per partition and makes the sender wait for that
        # batch to drain once it is full: at the default 16 KB (about 13 priced records)
        # the agent stalled on a broker round trip every few events (bench/, scenario 1).
        # Every event sends four messages (three changelogs and the priced record); a 50 ms
        # linger packs them into fewer produce requests (Faust floor with tables: ~1.5x).
        # The live totals do not wait for it; ClickHouse sees records up to 50 ms later.
        producer_max_batch_size=512 * 1024,
        # A tenant's budget state (holds included) is one changelog entry and may pass 1 MB.
        producer_max_request_size=BUDGET_ENTRY_MAX_BYTES,
        producer_linger=0.05,
        producer_compression_type="lz4",
        stream_buffer_maxsize=16_384,
    )


def make_current(event: faust.types.EventT) -> None:
    """Make `event` the stream's current event: Faust files table writes under its partition."""
    _current_event.set(weakref.ref(event))


def stop_for_replay(why: str, exit_code: int = 70, exc_info: bool = False) -> NoReturn:
    """Stop the worker at once, acking nothing more: the restarted worker resumes from the
    last committed offset, so everything not yet committed is metered again."""
    log.critical("%s; stopping so that a restart replays it", why, exc_info=exc_info)
    logging.shutdown()
    os._exit(exit_code)


def stop_unless_delivered(delivery: asyncio.Future) -> None:
    """A record the producer gave up on must not be committed past. This runs before the
    offset commit that waits on the same flush."""
    if delivery.cancelled() or delivery.exception() is not None:
        stop_for_replay(f"a metered record was not delivered "
                        f"({'cancelled' if delivery.cancelled() else delivery.exception()!r})")


def create_app(settings: Settings) -> faust.App:
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
    # The changelog deletes de-duplication ids older than the window, so a recovery does
    # not keep them forever. The local store is NOT opened in RocksDB's TTL mode: as Faust
    # opens it through rocksdict, its compactions dropped live entries (half to all of the
    # records of a compaction seconds after they were written; seen in the chaos suite),
    # and a later re-send of a forgotten event was counted again.
    seen = app.Table(
        "seen-events", partitions=settings.topic_partitions, key_type=str,
        extra_topic_configs=seen_events_changelog_config(settings),
    )
    held_tables = [BatchedTable(table, current_event, make_current) for table in (sessions, seen, ledger, positions)]
    budget_table = app.Table("budgets", partitions=settings.topic_partitions, key_type=str)
    budgets = BudgetAgent(app, settings, budget_table, BatchedTable(budget_table, current_event, make_current),
                          on_sent=stop_unless_delivered)
    budget_commands = app.topic(settings.topic_budget_commands, key_type=bytes, value_type=bytes,
                                key_serializer="raw", value_serializer="raw", partitions=settings.topic_partitions)
    held_sessions, held_seen, held_ledger, held_positions = held_tables
    processor = MeteringProcessor(
        Pricer(load_catalog(settings.catalog), load_tenants(settings.tenant_pricing_file)), held_sessions, held_seen,
        settings.topic_events, dedup_window=window, ledger=held_ledger, positions=held_positions,
    )

    async def publish(outcome: Outcome, item: RoutedItem) -> None:
        # Straight to the producer, not through Topic.send: Faust's channel machinery per
        # record cost more than metering the event (bench/, scenario 1 profile). Topics
        # exist before the worker starts (cli: ensure_topics), so nothing needs declaring.
        topic, _, partition = item.source.rpartition(":")
        where = f"{topic}[{partition}]@{item.offset}"
        if outcome.priced is not None:
            delivery = await app.producer.send(settings.topic_priced, outcome.priced.event.session_id.encode(),
                                               outcome.priced.model_dump_json().encode(), None, None, None)
        elif outcome.dead_letter is not None:
            log.warning("dead-lettered %s: %s", where, outcome.dead_letter.reason[:500])
            delivery = await app.producer.send(settings.topic_dlq, item.key, item.value, None, None, {
                DLQ_REASON_HEADER: outcome.dead_letter.reason.encode(),
                DLQ_ERRORS_HEADER: json.dumps(outcome.dead_letter.errors).encode(),
                DLQ_SOURCE_HEADER: where.encode(),
                DLQ_TENANT_HEADER: outcome.tenant_id.encode(),
            })
        else:
            return
        delivery.add_done_callback(stop_unless_delivered)

    # concurrency=1: with more, Faust can commit past a message still in flight (faust #606).
    # noack_take: the batch is acked by hand, only once its state and records are handed on.
    @app.agent(routed, concurrency=1)
    async def meter(stream: faust.Stream) -> None:
        async for batch in stream.noack_take(settings.worker_batch_size, settings.worker_batch_seconds):
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
                    outcome = processor.process(item.value, message.partition, message.offset, item.source, item.offset)
                    outcomes.append((outcome, item, here))
            except OffsetGap as gap:  # nothing from here on may be acked
                stop_for_replay(str(gap), exit_code=75)
            except (ValueError, KeyError, TypeError) as error:  # only the router writes there
                log.critical("unreadable routed message %s@%d skipped: %r", here, message.offset, error)
        for table in held_tables:
            table.flush()
        failpoint("worker.after_state")
        for outcome, item, _ in outcomes:
            await publish(outcome, item)
        if settings.budgets_enabled:
            await report_spend(outcomes)
        failpoint("worker.after_send")

    async def report_spend(outcomes: list[tuple[Outcome, RoutedItem, str]]) -> None:
        """Every priced record, replays included, goes to its tenant's budget owner. The
        ledger counts each position once, per (home partition, source partition): the
        order in which this partition got that source's messages."""
        metered = [(outcome.priced, f"{here}|{item.source}", item.offset)
                   for outcome, item, here in outcomes if outcome.priced is not None]
        for command in spend_commands(metered):
            delivery = await app.producer.send(settings.topic_budget_commands, command["tenant"].encode(),
                                               orjson.dumps(command), None, None, None)
            delivery.add_done_callback(stop_unless_delivered)

    if settings.budgets_enabled:
        # The budget owner: concurrency=1 and explicit acks, as the metering agent.
        @app.agent(budget_commands, concurrency=1)
        async def decide_budgets(stream: faust.Stream) -> None:
            async for batch in stream.noack_take(settings.worker_batch_size, settings.budget_batch_seconds):
                try:
                    await budgets.apply_batch(batch, make_current)
                except Exception:
                    stop_for_replay("applying budget commands failed", exc_info=True)
                for event in batch:
                    await stream.ack(event)

        @app.timer(EXPIRE_EVERY_SECONDS)
        async def expire_holds() -> None:
            await budgets.send_expiries()

    registry = registry_of(CounterCollector(
        "meterstream_worker_messages", "Messages metered by this worker since it started, by outcome.",
        ("tenant", "partition", "outcome"), lambda: processor.counts,
    ), CounterCollector(
        "meterstream_budget_commands", "Budget commands applied by this worker since it started, by kind.",
        ("tenant", "kind"), lambda: budgets.commands,
    ), CounterCollector(
        "meterstream_alerts_raised", "Alerts raised by this worker since it started, by kind.",
        ("tenant", "kind"), lambda: budgets.alerts,
    ))

    def active_partitions() -> set[int]:
        # With several workers a table also holds standby copies of other workers'
        # partitions; the listings show only the partitions this worker owns.
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == settings.topic_routed}

    def active_here(session_id: str) -> bool:
        return home_partition(session_id, settings.topic_partitions) in active_partitions()

    async def at_owner(view: View, request: Request, table: faust.Table, key: str) -> Response | None:
        """Any worker answers for any session or tenant: the request goes on to the worker that
        owns the key's partition (its address is in the consumer group's metadata). None: this
        worker owns it, or no assignment is known yet (it answers from what it holds).

        The partition is murmur2 of the key's plain bytes, where the router and the budget
        commands put it; Faust's own table routing would hash the key's JSON form instead."""
        try:
            owner = app.assignor.key_store(table.changelog_topic.get_topic_name(), key.encode())
        except KeyError:
            return None
        if (owner.host, owner.port) == (app.conf.canonical_url.host, app.conf.canonical_url.port):
            return None
        async with app.http_client.get(request.url.with_host(owner.host).with_port(owner.port),
                                       headers=settings.worker_headers()) as answer:
            return view.bytes(await answer.read(), status=answer.status,
                              content_type=answer.content_type or "application/json")

    async def owned(view: View, request: Request, table: faust.Table, key: str,
                    read: Callable[[], bytes | None], missing: str) -> Response:
        """The owner's answer for `key`: forwarded there, or read here (404 with `missing`)."""
        forwarded = await at_owner(view, request, table, key)
        if forwarded is not None:
            return forwarded
        body = read()
        if body is None:
            return view.json({"detail": missing}, status=404)
        return view.bytes(body, content_type="application/json")

    @app.page("/sessions/{session_id}")
    class SessionView(View):
        async def get(self, request: Request, session_id: str) -> Response:
            def read() -> bytes | None:
                totals = processor.session_totals(session_id)
                return None if totals is None else totals.model_dump_json().encode()
            return await owned(self, request, sessions, session_id, read, f"unknown session {session_id}")

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
        """The counts of the partitions this worker owns (it may hold standby copies of others)."""

        async def get(self, request: Request) -> Response:
            return self.json(processor.ledger_by_tenant(active_partitions()))

    @app.page("/budgets/{tenant_id}")
    class BudgetsView(View):
        """A tenant's budget state as the ledger holds it (the API computes its views from it).
        Routed like the commands: the tenant id decides the partition."""

        async def get(self, request: Request, tenant_id: str) -> Response:
            def read() -> bytes | None:
                state = budgets.tenant_state(tenant_id)
                return None if state is None else orjson.dumps(state)
            return await owned(self, request, budget_table, tenant_id, read, f"no budgets for tenant {tenant_id}")

    @app.page("/metrics")
    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(exposition(registry), content_type=CONTENT_TYPE)

    @app.task
    async def route_events() -> None:
        Router(settings, on_fatal=stop_process).start()

    guard_worker_web(app, settings)
    app.metering = processor  # type: ignore[attr-defined]  # reached by tests and the CLI
    return app


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Run the worker until it is stopped (SIGTERM / Ctrl-C)."""
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    # Faust's startup spinner sets the root logger to DEBUG so that it ticks on every record:
    # every debug call in aiokafka and Faust then built a LogRecord per message (6% of the
    # worker's CPU in py-spy) only for the handler to drop it.
    worker.spinner = None
    worker.execute_from_commandline()
