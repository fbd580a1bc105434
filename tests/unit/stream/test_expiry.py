"""Bounded de-duplication state: ids past the window are deleted, and never one that is not."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterstream.pricing import load_catalog
from meterstream.schemas import ImageUsage, Service, UsageEvent
from meterstream.settings import Settings
from meterstream.stream import MeteringProcessor
from meterstream.stream.expiry import SeenIndex, within_window
from meterstream.stream.topics import seen_events_changelog_config

CATALOG = load_catalog()
WINDOW = 100.0
IDS = [uuid.UUID(int=n + 1) for n in range(4)]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def metering(clock: Clock, seen: dict | None = None, stored=lambda partition: ()) -> MeteringProcessor:
    return MeteringProcessor(CATALOG, {}, {} if seen is None else seen, "usage.events",
                             dedup_window=timedelta(seconds=WINDOW), clock=clock, stored_seen=stored)


def raw(event_id: uuid.UUID, images: int = 1) -> bytes:
    return UsageEvent(event_id=event_id, tenant_id="acme", session_id="s1", service=Service.IMAGE,
                      model="imagen-4.0-generate", occurred_at=datetime(2026, 6, 1, tzinfo=UTC),
                      usage=ImageUsage(images=images)).model_dump_json().encode()


def meter_all(p: MeteringProcessor, event_ids: list[uuid.UUID], partition: int = 0) -> None:
    for offset, event_id in enumerate(event_ids):
        p.process(raw(event_id), partition, offset)


@pytest.mark.parametrize("age, forgotten", [(0.99, False), (1.05, True)],
                         ids=["inside the window: kept", "past the window: forgotten"])
def test_an_id_is_kept_inside_the_window_and_forgotten_past_it(age, forgotten):
    clock = Clock()
    p = metering(clock)
    p.process(raw(IDS[0]), 0, 0)
    clock.now += WINDOW * age
    assert p.expire_seen(0, limit=100) == int(forgotten)
    assert (str(IDS[0]) not in p.seen) == forgotten


def test_a_resend_inside_the_window_is_a_duplicate_after_expiry_ran():
    clock = Clock()
    p = metering(clock)
    p.process(raw(IDS[0]), 0, 0)
    clock.now += WINDOW * 0.99
    p.expire_seen(0, limit=100)
    assert p.process(raw(IDS[0]), 0, 1).status == "duplicate"


def test_an_id_accepted_again_after_its_window_is_kept_for_its_new_window():
    clock = Clock()
    p = metering(clock)
    p.process(raw(IDS[0]), 0, 0)
    clock.now += WINDOW * 1.5
    assert p.process(raw(IDS[0]), 0, 1).status == "priced"  # past the window: new, first seen now
    assert p.expire_seen(0, limit=100) == 0  # its old bucket is due, its entry is not
    clock.now += WINDOW * 0.9
    assert p.process(raw(IDS[0]), 0, 2).status == "duplicate"


def test_expiry_deletes_at_most_its_limit_and_the_rest_next_time():
    clock = Clock()
    p = metering(clock)
    meter_all(p, IDS)
    clock.now += WINDOW * 2
    assert p.expire_seen(0, limit=3) == 3
    assert p.expire_seen(0, limit=3) == 1
    assert p.seen == {}


def test_expiry_deletes_only_the_partition_it_is_asked_for():
    clock = Clock()
    p = metering(clock)
    meter_all(p, IDS[:1], partition=0)
    meter_all(p, IDS[1:2], partition=1)
    clock.now += WINDOW * 2
    p.expire_seen(1, limit=100)
    assert set(p.seen) == {str(IDS[0])}


def test_ids_stored_before_a_restart_are_read_a_chunk_at_a_time_and_expired():
    clock = Clock()
    before = metering(clock)
    meter_all(before, IDS)
    restarted = metering(clock, seen=before.seen, stored=lambda partition: list(before.seen.items()))
    clock.now += WINDOW * 2
    assert restarted.expire_seen(0, limit=2) == 2  # read two stored ids, and those two were due
    assert restarted.expire_seen(0, limit=2) == 2
    assert restarted.seen == {}


def test_ids_stored_before_a_restart_are_expired_when_new_ids_came_first():
    clock = Clock()
    before = metering(clock)
    meter_all(before, IDS[:1])
    stored = list(before.seen.items())
    restarted = metering(clock, seen=before.seen, stored=lambda partition: stored)
    clock.now += WINDOW * 2
    restarted.process(raw(IDS[1]), 0, 1)  # indexed as it is written, before the stored ids are read
    assert restarted.expire_seen(0, limit=100) == 1
    assert set(restarted.seen) == {str(IDS[1])}


def test_a_forgotten_index_reads_the_partition_again():
    clock = Clock()
    seen: dict = {}
    p = metering(clock, seen=seen, stored=lambda partition: list(seen.items()))
    p.process(raw(IDS[0]), 0, 0)
    p.seen_index.forget()  # a rebalance
    clock.now += WINDOW * 2
    assert p.expire_seen(0, limit=100) == 1


def test_the_index_keeps_16_bytes_per_id():
    index = SeenIndex(WINDOW, stored=lambda partition: ())
    for n in range(1000):
        index.note(0, uuid.UUID(int=n), 1_000_000.0 + n / 100)
    assert len(index) == 1000
    assert sum(len(ids) for ids in index.buckets[0].values()) == 16_000


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0, WINDOW * 1.2), min_size=1, max_size=50), st.floats(1e6, 2e6))
def test_the_index_names_an_id_only_once_it_is_past_the_window(ages, now):
    index = SeenIndex(WINDOW, stored=lambda partition: ())
    for n, age in enumerate(ages):
        index.note(0, uuid.UUID(int=n), now - age)
    for key in index.due(0, now, limit=len(ages)):
        assert not within_window(now - ages[uuid.UUID(key).int], now, WINDOW)


# One step: meter an event (an id from a small pool, so re-sends and re-acceptances happen),
# or let time pass, or run expiry on a partition with some limit.
steps = st.lists(st.one_of(
    st.tuples(st.just("meter"), st.sampled_from(IDS), st.integers(0, 1)),
    st.tuples(st.just("wait"), st.floats(0, WINDOW * 0.7)),
    st.tuples(st.just("expire"), st.integers(0, 1), st.integers(1, 5)),
), max_size=60)


def play(plan, clock: Clock, meter, expire) -> None:
    """Carry out `plan`: meter(event_id, partition, offset), or wait, or expire(partition, limit)."""
    offsets = [0, 0]
    for step in plan:
        if step[0] == "meter":
            _, event_id, partition = step
            meter(event_id, partition, offsets[partition])
            offsets[partition] += 1
        elif step[0] == "wait":
            clock.now += step[1]
        else:
            expire(step[1], step[2])


@settings(max_examples=300, deadline=None)
@given(steps)
def test_an_id_is_never_forgotten_before_it_is_past_the_window(plan):
    clock = Clock()
    p = metering(clock)

    def expire(partition: int, limit: int) -> None:
        before = dict(p.seen)
        p.expire_seen(partition, limit)
        for key in before.keys() - p.seen.keys():
            assert not within_window(before[key]["t"], clock.now, WINDOW)

    play(plan, clock, lambda event_id, partition, offset: p.process(raw(event_id), partition, offset), expire)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_expiry_changes_no_outcome_so_every_resend_inside_the_window_is_caught(plan):
    clock = Clock()
    bounded, unbounded = metering(clock), metering(clock)

    def meter(event_id: uuid.UUID, partition: int, offset: int) -> None:
        outcomes = [p.process(raw(event_id), partition, offset).status for p in (bounded, unbounded)]
        assert outcomes[0] == outcomes[1]

    play(plan, clock, meter, bounded.expire_seen)


def test_the_seen_changelog_is_compacted_and_deletes_what_is_older_than_the_window():
    config = seen_events_changelog_config(Settings(dedup_window_days=2))
    assert config == {"cleanup.policy": "compact,delete", "retention.ms": "172800000",
                      "delete.retention.ms": "172800000", "segment.ms": "86400000"}


def test_a_window_of_seconds_gives_the_changelog_segments_of_that_length():
    config = seen_events_changelog_config(Settings(dedup_window_days=3 / 86_400))
    assert (config["retention.ms"], config["segment.ms"]) == ("3000", "3000")
