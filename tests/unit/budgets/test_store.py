"""The budget owner's state: what it sends after a batch, and what comes back from the changelog."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from meterstream.budgets import commands
from meterstream.budgets.ledger import HOLD_PREFIX, BudgetLedger, budget_status, tenant_key
from meterstream.budgets.store import OwnedState, encode_entry, encode_key
from meterstream.schemas.budgets import BudgetAction
from tests.unit.budgets.builders import NOW, TENANT, budget, item, reserve, spend


def changelog_records(state: OwnedState) -> list[tuple[bytes, bytes | None]]:
    return [(encode_key(key), encode_entry(entry)) for key, _, entry in state.take_writes()]


def test_a_batch_sends_each_changed_key_once_with_its_holds_before_the_tenant_entry():
    state = OwnedState()
    ledger = BudgetLedger(state)
    state.partition = 3
    ledger.apply(commands.define(budget(limit="10", action=BudgetAction.BLOCK)), 3, 0)
    ledger.apply(reserve("1"), 3, 1)
    ledger.apply(reserve("2"), 3, 2)
    writes = state.take_writes()
    assert [key.startswith(HOLD_PREFIX) for key, _, _ in writes] == [True, True, False]
    assert {partition for _, partition, _ in writes} == {3}
    assert state.take_writes() == []


def test_a_restore_gives_back_the_last_value_of_each_key_and_forgets_deleted_ones():
    state = OwnedState()
    restored = state.restore(0, [(encode_key("t:a"), b'{"n": 1}'), (encode_key("t:b"), b'{"n": 1}'),
                                 (encode_key("t:a"), b'{"n": 2}'), (encode_key("t:b"), None)])
    assert restored == 1 and state.entries == {"t:a": {"n": 2}}


def test_holds_written_after_their_tenant_entry_was_last_written_are_not_restored():
    state = OwnedState()
    records = [(encode_key("h:acme:r1"), b'{"amount": "1"}'), (encode_key("t:acme"), b'{"open_holds": 1}'),
               (encode_key("h:acme:r2"), b'{"amount": "2"}'), (encode_key("h:acme:r1"), None)]  # cut off here
    state.restore(0, records)
    assert state.entries == {"h:acme:r1": {"amount": "1"}, "t:acme": {"open_holds": 1}}


def test_a_partition_given_up_is_forgotten_and_others_stay():
    state = OwnedState()
    state.restore(0, [(encode_key("t:a"), b"{}")])
    state.restore(1, [(encode_key("t:b"), b"{}")])
    state.drop([0])
    assert list(state) == ["t:b"]


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3"), places=2)
plans = st.lists(st.tuples(st.sampled_from(["reserve", "release", "settle", "expire"]), amounts,
                           st.integers(min_value=0, max_value=20), st.booleans()), min_size=1, max_size=30)


@given(plans, st.data())
@settings(max_examples=200, deadline=None)
def test_whatever_part_of_the_changelog_a_crash_leaves_the_restored_holds_match_their_sums(plan, data):
    """Batches of commands are sent as the owner sends them; a kill -9 keeps any prefix of
    the records (one producer, one partition: in order, no gaps). What comes back must be
    one consistent moment: the budget's `reserved` is the sum of the restored holds, and
    the tenant's count of open holds is their number."""
    state = OwnedState()
    state.partition = 0
    ledger = BudgetLedger(state)
    records: list[tuple[bytes, bytes | None]] = []
    ledger.apply(commands.define(budget(limit="1000", action=BudgetAction.BLOCK)), 0, 0)
    granted: list[str] = []
    for offset, (action, amount, pick, end_batch) in enumerate(plan, start=1):
        if action == "reserve":
            [answer] = [o.value for o in ledger.apply(reserve(str(amount), ttl=timedelta(minutes=1)), 0, offset)]
            granted.append(answer["reservation_id"])
        elif granted:
            rid = granted.pop(pick % len(granted))
            command = {"release": lambda: commands.release(TENANT, rid),
                       "settle": lambda: spend(item(offset, str(amount), reservation_id=rid)),
                       "expire": lambda: commands.expire(TENANT, [rid], at=NOW + timedelta(minutes=2))}[action]()
            ledger.apply(command, 0, offset)
        if end_batch:
            records += changelog_records(state)
    records += changelog_records(state)

    cut = data.draw(st.integers(min_value=1, max_value=len(records)))
    restored = OwnedState()
    restored.restore(0, records[:cut])
    tenant = restored.entries.get(tenant_key(TENANT))
    if tenant is None:
        return  # the crash came before the tenant's first entry: nothing to restore yet
    holds = [entry for key, entry in restored.entries.items() if key.startswith(HOLD_PREFIX)]
    assert tenant["open_holds"] == len(holds)
    assert budget_status(tenant["budgets"]["b1"], NOW)["reserved"] == sum(
        (Decimal(hold["amount"]) for hold in holds), Decimal(0))
