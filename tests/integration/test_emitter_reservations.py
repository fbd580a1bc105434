"""`UsageEmitter.reserve`: hold budget before a call, settle it with the call's usage."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterstream.budgets import commands
from meterstream.budgets.client import BudgetClient
from meterstream.budgets.ledger import budget_status
from meterstream.devstack.pipeline import LocalPipeline
from meterstream.producers import BudgetExceeded, UsageEmitter
from meterstream.schemas.budgets import BudgetAction, BudgetDefinition

pytestmark = pytest.mark.integration

TENANT = "reserving-tenant"
PLAN = {"unit": "tokens", "input_tokens": 1_000_000}  # 0.30 USD on gemini-2.5-flash


def define_blocking_budget(client: BudgetClient, limit: str) -> None:
    now = datetime.now(UTC)
    client.ask(commands.define(BudgetDefinition(budget_id="b", tenant_id=TENANT, name="tight", limit=Decimal(limit),
                                                action=BudgetAction.BLOCK, created_at=now, updated_at=now)))


def figures(client: BudgetClient) -> dict:
    return budget_status(client.tenant_state(TENANT)["budgets"]["b"], datetime.now(UTC))


def wait_for(client: BudgetClient, spent: str) -> dict:
    deadline = time.monotonic() + 20
    while (shown := figures(client))["spent"] != Decimal(spent):
        assert time.monotonic() < deadline, f"spent stayed {shown['spent']}, expected {spent}"
        time.sleep(0.1)
    return shown


def test_a_hold_is_settled_by_the_calls_actual_usage_and_refused_when_there_is_no_room(pipeline: LocalPipeline):
    with BudgetClient(pipeline.settings) as client, UsageEmitter(pipeline.settings) as emitter:
        define_blocking_budget(client, "0.50")
        with emitter.reserve("gemini-2.5-flash", PLAN, tenant_id=TENANT, session_id="s1") as hold:
            assert hold.amount == Decimal("0.3")
            assert figures(client)["reserved"] == Decimal("0.3")
            with pytest.raises(BudgetExceeded, match="tight"):
                emitter.reserve("gemini-2.5-flash", PLAN, tenant_id=TENANT, session_id="s1")
            hold.settle({"service": "text", "model": "gemini-2.5-flash",
                         "usage": {"unit": "tokens", "input_tokens": 100_000}})
        emitter.flush()
        shown = wait_for(client, "0.03")
        assert shown["reserved"] == 0


def test_a_call_that_fails_inside_the_block_releases_its_hold(pipeline: LocalPipeline):
    with BudgetClient(pipeline.settings) as client, UsageEmitter(pipeline.settings) as emitter:
        define_blocking_budget(client, "0.50")
        with pytest.raises(RuntimeError), emitter.reserve("gemini-2.5-flash", PLAN, tenant_id=TENANT, session_id="s"):
            raise RuntimeError("the model call failed")
        assert figures(client)["reserved"] == 0
