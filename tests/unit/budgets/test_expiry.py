"""The hold index finds what is past due without reading the table, and finds restored holds."""

from datetime import timedelta

from meterstream.budgets.expiry import HoldIndex
from tests.unit.budgets.builders import NOW


def hold(expiring_in: timedelta) -> dict:
    return {"expires_at": (NOW + expiring_in).isoformat()}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_holds_written_here_are_due_once_past_their_expiry_and_released_ones_never():
    clock, table = Clock(), {}
    index = HoldIndex(clock=clock)
    index.due(NOW, table.items)  # the first look reads the (empty) table
    index.note([("h:acme:a", hold(timedelta(minutes=1))), ("h:acme:b", hold(timedelta(minutes=5))),
                ("h:acme:c", hold(timedelta(minutes=1))), ("t:acme", {"open_holds": 3})])
    index.note([("h:acme:c", None)])  # c was settled
    assert index.due(NOW, table.items) == {}
    assert index.due(NOW + timedelta(minutes=2), table.items) == {"acme": ["a"]}


def test_holds_only_in_the_table_are_found_at_the_next_reindex():
    clock, table = Clock(), {}
    index = HoldIndex(reindex_every=60, clock=clock)
    index.due(NOW, table.items)
    table["h:globex:restored"] = hold(timedelta(seconds=-1))  # came back from the changelog
    assert index.due(NOW, table.items) == {}
    clock.now = 61
    assert index.due(NOW, table.items) == {"globex": ["restored"]}
