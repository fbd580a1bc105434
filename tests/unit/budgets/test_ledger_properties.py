"""Properties of the budget ledger that must hold for every sequence of commands."""

from __future__ import annotations

import copy
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from meterstream.budgets import commands
from meterstream.budgets.ledger import BudgetLedger, budget_status, tenant_key
from meterstream.schemas.budgets import BudgetAction
from tests.unit.budgets.builders import NOW, TENANT, budget, item, reserve, spend

LIMIT = Decimal("10")
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("4"), places=2)
steps = st.lists(st.tuples(st.sampled_from(["reserve", "settle", "release", "expire"]), amounts,
                           st.integers(min_value=0, max_value=50)), max_size=40)


@given(steps)
@settings(max_examples=200, deadline=None)
def test_settled_spend_plus_holds_never_exceed_a_blocking_limit(plan):
    table: dict = {}
    ledger = BudgetLedger(table)
    ledger.apply(commands.define(budget(limit=str(LIMIT), action=BudgetAction.BLOCK)), 0, 0)
    granted: list[tuple[str, str]] = []
    offset, source_offset = 0, 0
    for action, amount, pick in plan:
        offset += 1
        if action == "reserve":
            outputs = ledger.apply(reserve(str(amount), ttl=timedelta(minutes=1)), 0, offset)
            answer = outputs[0].value
            if answer["granted"]:
                granted.append((answer["reservation_id"], answer["amount"]))
        elif granted:
            rid, held = granted.pop(pick % len(granted))
            if action == "settle":  # the actual cost equals the estimate
                source_offset += 1
                ledger.apply(spend(item(source_offset, held, reservation_id=rid)), 0, offset)
            elif action == "release":
                ledger.apply(commands.release(TENANT, rid), 0, offset)
            else:
                ledger.apply(commands.expire(TENANT, [rid], at=NOW + timedelta(minutes=2)), 0, offset)
        status = budget_status(table[tenant_key(TENANT)]["budgets"]["b1"], NOW)
        assert status["spent"] + status["reserved"] <= LIMIT
        assert status["reserved"] == sum((Decimal(a) for _, a in granted), Decimal(0))


costs = st.lists(st.decimals(min_value=Decimal(0), max_value=Decimal("3"), places=3), min_size=1, max_size=30)


@given(costs, st.lists(st.tuples(st.integers(min_value=0, max_value=29), st.integers(min_value=0, max_value=3)),
                      max_size=4))
@settings(max_examples=300, deadline=None)
def test_a_crash_that_loses_recent_writes_and_its_replay_give_the_same_state_and_alerts(cost_list, crashes):
    """After a crash at offset p the worker is handed everything again from its last commit
    (two offsets behind p), and its store may have lost the writes of the last few offsets
    (`lost`, never past the commit: the commit waits for them). The ledger must end where it
    would have without the crash, and raise the same alerts (by id)."""
    log = [commands.define(budget(limit="10"))] + [spend(item(i, str(c))) for i, c in enumerate(cost_list)]

    def run(crash_points: list[tuple[int, int]]) -> tuple[dict, set[str]]:
        table: dict = {}
        ledger = BudgetLedger(table)
        raised: set[str] = set()
        after: dict[int, dict] = {-1: {}}  # the store as it was after each offset
        next_offset = 0
        for point, lost in sorted((p % len(log), lost) for p, lost in crash_points) + [(len(log) - 1, 0)]:
            if point < next_offset:
                continue
            for offset in range(next_offset, point + 1):
                raised |= {o.value["alert_id"] for o in ledger.apply(log[offset], 0, offset) if o.kind == "alert"}
                after[offset] = copy.deepcopy(table)
            committed = max(0, point - 2)
            table.clear()
            table.update(copy.deepcopy(after[max(committed - 1, point - lost)]))
            for offset in range(committed, point + 1):
                raised |= {o.value["alert_id"] for o in ledger.apply(log[offset], 0, offset) if o.kind == "alert"}
            next_offset = point + 1
        return copy.deepcopy(table), raised

    assert run(crashes) == run([])
