"""Several workers share the partitions; any of them answers for any session and tenant, and
for a tenant's counts over all of them."""

from __future__ import annotations

import json
import urllib.error
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from meterstream.budgets import commands
from meterstream.budgets.client import BudgetClient
from meterstream.devstack import free_port
from meterstream.devstack.pipeline import LocalPipeline, WorkerProcess
from meterstream.producers import UsageEmitter
from meterstream.producers.workload import studio_workload
from meterstream.schemas.budgets import BudgetDefinition
from tests.expectations import expectations
from tests.integration.test_spine import wait_until


def test_each_of_two_workers_answers_for_every_session_and_budget(pipeline: LocalPipeline):
    second_settings = pipeline.settings.model_copy(update={"data_dir": pipeline.settings.data_dir / "second",
                                                           "worker_port": free_port()})
    second = WorkerProcess(second_settings)
    second.start()
    try:
        workers = [pipeline.worker, second]

        def shared() -> bool:  # the group has settled: every partition has exactly one owner
            owned = [w.partitions() for w in workers]
            return all(owned) and sorted(sum(owned, [])) == list(range(pipeline.settings.topic_partitions))

        wait_until(shared, 120, "the two workers to share the partitions")
        events = list(studio_workload(400, sessions=16, tenant_id="acme-creative"))
        now = datetime.now(UTC)
        with BudgetClient(pipeline.settings) as client:
            client.ask(commands.define(BudgetDefinition(budget_id="all", tenant_id="acme-creative", name="all",
                                                        limit=Decimal(1000), created_at=now, updated_at=now)))
        with UsageEmitter(pipeline.settings) as emitter:
            for event in events:
                emitter.emit(event)
        expected = expectations(events)
        wait_until(lambda: sum(sum(w.counts().values()) for w in workers) >= len(events), 120, "all metered")
        # Each worker counts its own partitions; asked for a tenant, either sums the group's.
        own = [Counter(w.ledger().get("acme-creative", {})) for w in workers]
        assert all(sum(counts.values()) for counts in own)  # the tenant's sessions live with both
        group = {outcome: own[0][outcome] + own[1][outcome] for outcome in {*own[0], *own[1]}}
        for worker in workers:
            assert json.loads(worker.get("/ledger/acme-creative")) == group
        for session_id, want in expected.items():
            for worker in workers:
                totals = worker.session_totals(session_id)
                assert totals is not None and totals.total_cost == want.cost, (session_id, worker.settings.worker_url)
        total = sum((want.cost for want in expected.values()), Decimal(0))
        for worker in workers:  # each worker's budget owner may still be joining its own group
            wait_until(lambda: b'"all"' in _budgets_or_nothing(worker, "acme-creative"), 60,
                       f"{worker.settings.worker_url} to answer for the tenant's budgets")
        with BudgetClient(pipeline.settings) as client:
            wait_until(lambda: _spent(client, "acme-creative", "all") == total, 30, "the budget to count every event")
    finally:
        second.stop()


def _budgets_or_nothing(worker: WorkerProcess, tenant_id: str) -> bytes:
    try:
        return worker.get(f"/budgets/{tenant_id}")
    except urllib.error.HTTPError:
        return b""


def _spent(client: BudgetClient, tenant_id: str, budget_id: str) -> Decimal:
    """What the budget's one period has counted so far (nothing until its first event)."""
    periods = client.tenant_state(tenant_id)["budgets"][budget_id]["periods"]
    return sum((Decimal(period["spent"]) for period in periods.values()), Decimal(0))
