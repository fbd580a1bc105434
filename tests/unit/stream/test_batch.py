"""Holding a batch's table writes to its end: the same state, far fewer writes."""

from hypothesis import given, settings
from hypothesis import strategies as st

from meterstream.stream import MeteringProcessor
from meterstream.stream.batch import BatchedTable
from tests.unit.stream.test_processor import CATALOG, ChangeloggedTable, image_event, raw

TABLES = ("sessions", "seen", "ledger", "positions")


class Current:
    """Stands in for Faust's current event: which message a write belongs to."""

    def __init__(self) -> None:
        self.event = None

    def get(self):
        return self.event

    def set(self, event) -> None:
        self.event = event


def held(table: dict, current: Current) -> BatchedTable:
    return BatchedTable(table, current.get, current.set)


def test_reads_in_the_batch_see_its_held_writes_before_the_table_does():
    table, current = {}, Current()
    batch = held(table, current)
    batch["s1"] = 1
    assert (batch["s1"], batch.get("s1"), table) == (1, 1, {})
    assert batch.get("s2", "none") == "none"


def test_flush_writes_each_key_once_with_its_last_value_under_the_event_that_wrote_it():
    current = Current()
    writes = []

    class Table(dict):
        def __setitem__(self, key, value):
            writes.append((key, value, current.event))
            super().__setitem__(key, value)

    batch = held(Table(), current)
    for event, value in (("m1", 1), ("m2", 2), ("m3", 3)):
        current.set(event)
        batch["s1"] = value
    current.set("m4")
    batch["s2"] = 9
    current.set(None)
    assert batch.flush() == 2
    assert writes == [("s1", 3, "m3"), ("s2", 9, "m4")]
    assert batch.flush() == 0


def test_iterating_sees_the_table_and_the_held_keys_once_each():
    batch = held({"a": 1, "b": 2}, Current())
    batch["b"] = 3
    batch["c"] = 4
    assert dict(batch.items()) == {"a": 1, "b": 3, "c": 4}
    assert len(batch) == 3


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(st.tuples(st.sampled_from(["s1", "s2", "s3"]), st.integers(1, 5)), min_size=1, max_size=15),
    resends=st.lists(st.integers(0, 14), max_size=6),
    batch_size=st.integers(1, 8),
)
def test_metering_in_batches_ends_in_the_same_state_as_one_message_at_a_time(plan, resends, batch_size):
    events = [image_event(images=n, session=s) for s, n in plan]
    log = [raw(e) for e in events] + [raw(events[i % len(events)]) for i in resends]
    one_by_one = {name: {} for name in TABLES}
    single = MeteringProcessor(CATALOG, topic="usage.events", clock=lambda: 0, **one_by_one)
    for offset, payload in enumerate(log):
        single.process(payload, 0, offset)

    current = Current()
    tables = {name: ChangeloggedTable() for name in TABLES}
    views = {name: held(table, current) for name, table in tables.items()}
    batched = MeteringProcessor(CATALOG, topic="usage.events", clock=lambda: 0, **views)
    for start in range(0, len(log), batch_size):
        for offset, payload in enumerate(log[start:start + batch_size], start=start):
            current.set(offset)
            batched.process(payload, 0, offset)
        for view in views.values():
            view.flush()

    assert {name: dict(table) for name, table in tables.items()} == one_by_one


def test_a_batch_of_one_sessions_events_writes_its_totals_ledger_and_position_once():
    current = Current()
    tables = {name: ChangeloggedTable() for name in TABLES}
    views = {name: held(table, current) for name, table in tables.items()}
    processor = MeteringProcessor(CATALOG, topic="usage.events", **views)
    for offset in range(10):
        current.set(offset)
        processor.process(raw(image_event()), 0, offset)
    for view in views.values():
        view.flush()
    assert {name: len(table.changelog) for name, table in tables.items()} == {
        "sessions": 1, "seen": 10, "ledger": 1, "positions": 1}
    assert processor.session_totals("s1").operations == 10


def test_take_hands_over_each_held_key_once_with_its_event_none_for_a_deletion_and_forgets_them():
    current = Current()
    batch = held({"gone": 1}, current)
    current.set("m1")
    batch["s1"] = 1
    current.set("m2")
    batch["s1"] = 2
    del batch["gone"]
    assert batch.take() == [("s1", 2, "m2"), ("gone", None, "m2")]
    assert batch.take() == []
    assert batch.get("gone") == 1  # the table itself is the writer's to change
