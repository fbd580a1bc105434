"""The budget owner runs in a process of its own beside the worker, and dies with it."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from meterstream.budgets import commands
from meterstream.budgets.client import BudgetClient
from meterstream.devstack.pipeline import LocalPipeline
from meterstream.schemas.budgets import BudgetDefinition, UsageFacts
from tests.conftest import eventually


def _children(pid: int) -> list[int]:
    return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_the_budget_owner_is_a_child_of_the_worker_and_answers_through_it(pipeline: LocalPipeline):
    worker = pipeline.worker.process.pid
    assert eventually(lambda: _children(worker) or None, 30, "the budget owner to start")
    now = datetime.now(UTC)
    with BudgetClient(pipeline.settings) as client:
        client.ask(commands.define(BudgetDefinition(budget_id="all", tenant_id="acme", name="all",
                                                    limit=Decimal(10), created_at=now, updated_at=now)))
        assert "all" in client.tenant_state("acme")["budgets"]
    metrics = pipeline.worker.get("/metrics").decode()
    assert 'meterstream_budget_commands_total{kind="define",tenant="acme"} 1.0' in metrics


@pytest.mark.parametrize("replies", ["direct", "kafka"])
def test_a_reservation_is_answered_over_either_reply_channel(pipeline: LocalPipeline, replies: str):
    now = datetime.now(UTC)
    settings = pipeline.settings.model_copy(update={"budget_replies": replies})
    with BudgetClient(settings) as client:
        client.ask(commands.define(BudgetDefinition(budget_id="cap", tenant_id="acme", name="cap", action="block",
                                                    limit=Decimal("0.05"), created_at=now, updated_at=now)))
        facts = UsageFacts(session_id="s1", service="text", model="gemini-2.5-flash")
        granted = client.ask(commands.reserve("acme", Decimal("0.03"), facts, timedelta(minutes=5)))
        refused = client.ask(commands.reserve("acme", Decimal("0.03"), facts, timedelta(minutes=5)))
    assert granted["granted"] is True and granted["amount"] == "0.03"
    assert refused["granted"] is False and refused["refused_by"][0]["budget_id"] == "cap"


def test_a_kill_9_of_the_worker_takes_its_budget_owner_down_too(pipeline: LocalPipeline):
    worker = pipeline.worker.process
    owners = eventually(lambda: _children(worker.pid) or None, 30, "the budget owner to start")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    eventually(lambda: not any(_running(pid) for pid in owners) or None, 10, "the budget owner to stop")
