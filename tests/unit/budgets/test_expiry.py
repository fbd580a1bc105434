"""The hold index finds what is past due without reading the table, and finds restored holds."""

from datetime import timedelta

from meterstream.budgets.expiry import HoldIndex
from tests.unit.budgets.builders import NOW


def tenant_entry(**expiring_in: timedelta) -> dict:
    return {"holds": {rid: {"expires_at": (NOW + delta).isoformat()} for rid, delta in expiring_in.items()}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_holds_written_here_are_due_once_past_their_expiry_and_released_ones_never():
    clock, table = Clock(), {}
    index = HoldIndex(clock=clock)
    index.due(NOW, table.items)  # the first look reads the (empty) table
    index.note([("t:acme", tenant_entry(a=timedelta(minutes=1), b=timedelta(minutes=5), c=timedelta(minutes=1)))])
    index.note([("t:acme", tenant_entry(a=timedelta(minutes=1), b=timedelta(minutes=5)))])  # c was settled
    assert index.due(NOW, table.items) == {}
    assert index.due(NOW + timedelta(minutes=2), table.items) == {"acme": ["a"]}


def test_holds_only_in_the_table_are_found_at_the_next_reindex():
    clock, table = Clock(), {}
    index = HoldIndex(reindex_every=60, clock=clock)
    index.due(NOW, table.items)
    table["t:globex"] = tenant_entry(restored=timedelta(seconds=-1))  # came back from the changelog
    assert index.due(NOW, table.items) == {}
    clock.now = 61
    assert index.due(NOW, table.items) == {"globex": ["restored"]}
