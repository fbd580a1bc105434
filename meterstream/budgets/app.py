"""The budget owner: a Faust app of its own that applies budget commands.

Its own app, consumer group and process, not an agent of the metering worker: one Faust
app has one conductor that hands every fetched message to its agent in turn and waits on
a full agent, so in one app the budget commands queued behind a metering backlog (in a
catch-up, 258 spend items a second decided against 3,054 events metered; reservations
timed out). `meterstream worker` starts it as a child process (budgets/process.py), or it
runs alone as `meterstream budget-owner`.

Thin: the rules are in ledger.py, the Kafka wiring in agent.py. The app keeps the budget
table's changelog under the name it had inside the worker, so the state carries over.
"""

from __future__ import annotations

import faust
import orjson
from faust.streams import current_event
from faust.web import Request, Response, View

from meterstream.budgets.agent import EXPIRE_EVERY_SECONDS, MAX_SPEND_ITEMS, BudgetAgent
from meterstream.metrics import CONTENT_TYPE, CounterCollector, exposition, registry_of
from meterstream.settings import Settings
from meterstream.stream.batch import BatchedTable
from meterstream.stream.durable_commit import commit_only_sent_state
from meterstream.stream.faust_app import (
    Owners,
    app_config,
    make_current,
    messages_per_batch,
    stop_for_replay,
    stop_unless_delivered,
)
from meterstream.stream.quiet import quiet_libraries
from meterstream.stream.web_access import guard_worker_web
from meterstream.stream.topics import budget_owner_id, changelog_topic


def budget_table(app: faust.App, settings: Settings) -> faust.Table:
    # The changelog it had as the worker's table (created by ensure_topics, 16 MB entries).
    # Given to the table when it is made: Faust files the table under its changelog's name then.
    # Its serializers do not matter: the table passes its own with every send.
    changelog = app.topic(changelog_topic(settings, "budgets"), partitions=settings.topic_partitions,
                          compacting=True, acks=False, internal=True, maxsize=131_072, allow_empty=True)
    return app.Table("budgets", partitions=settings.topic_partitions, key_type=str, changelog_topic=changelog)


def create_budget_app(settings: Settings, web_port: int) -> faust.App:
    quiet_libraries(settings)
    app = faust.App(budget_owner_id(settings), **app_config(settings, settings.data_dir / "budgets", web_port))
    commit_only_sent_state(app)
    table = budget_table(app, settings)
    budgets = BudgetAgent(app, settings, table, BatchedTable(table, current_event, make_current),
                          on_sent=stop_unless_delivered)
    commands = app.topic(settings.topic_budget_commands, key_type=bytes, value_type=bytes,
                         key_serializer="raw", value_serializer="raw", partitions=settings.topic_partitions)
    owners = Owners(app, settings.worker_headers())

    # concurrency=1 and explicit acks, as the metering agent: nothing is acked before its
    # state and what it produced are handed on.
    @app.agent(commands, concurrency=1)
    async def decide_budgets(stream: faust.Stream) -> None:
        # A spend command carries up to MAX_SPEND_ITEMS events.
        per_batch = messages_per_batch(settings, MAX_SPEND_ITEMS)
        async for batch in stream.noack_take(per_batch, settings.budget_batch_seconds):
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
        "meterstream_budget_commands", "Budget commands applied by this budget owner since it started, by kind.",
        ("tenant", "kind"), lambda: budgets.commands,
    ), CounterCollector(
        "meterstream_alerts_raised", "Alerts raised by this budget owner since it started, by kind.",
        ("tenant", "kind"), lambda: budgets.alerts,
    ))

    @app.page("/budgets/{tenant_id}")
    class BudgetsView(View):
        """A tenant's budget state as the ledger holds it (the API computes its views from it).
        Routed like the commands: the tenant id decides the partition."""

        async def get(self, request: Request, tenant_id: str) -> Response:
            def read() -> bytes | None:
                state = budgets.tenant_state(tenant_id)
                return None if state is None else orjson.dumps(state)
            return await owners.answer(self, request, table, tenant_id, read, f"no budgets for tenant {tenant_id}")

    @app.page("/metrics")
    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(exposition(registry), content_type=CONTENT_TYPE)

    guard_worker_web(app, settings)  # the same token as the worker's endpoints, bound on the same host
    return app


def run_budget_owner(settings: Settings, web_port: int, loglevel: str = "warning") -> None:
    """Run the budget owner until it is stopped (SIGTERM / Ctrl-C)."""
    worker = faust.Worker(create_budget_app(settings, web_port), loglevel=loglevel, quiet=True)
    worker.spinner = None  # see stream/app.py: run_worker
    worker.execute_from_commandline()
