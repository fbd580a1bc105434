"""The metering step's rules, on plain dicts standing in for the worker's changelog tables."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterstream.pricing import load_catalog
from meterstream.producers.workload import studio_workload
from meterstream.schemas import ImageUsage, PricedUsage, Service, UsageEvent
from meterstream.stream import MeteringProcessor
from meterstream.stream.processor import OffsetGap
from tests.fuzz_payloads import payloads

CATALOG = load_catalog()
AT = datetime(2026, 6, 1, tzinfo=UTC)


def processor() -> MeteringProcessor:
    return MeteringProcessor(CATALOG, sessions={}, seen={}, topic="usage.events")


def image_event(images: int = 2, session: str = "s1", model: str = "imagen-4.0-generate", tenant: str = "acme",
                **kw) -> UsageEvent:
    return UsageEvent(tenant_id=tenant, session_id=session, service=Service.IMAGE, model=model,
                      occurred_at=AT, usage=ImageUsage(images=images), **kw)


def raw(event: UsageEvent) -> bytes:
    return event.model_dump_json().encode()


def test_a_valid_event_is_priced_and_added_to_its_session():
    p = processor()
    outcome = p.process(raw(image_event(images=3)), partition=0, offset=0)
    assert outcome.status == "priced"
    assert outcome.priced.total_cost == Decimal("0.12")  # 3 images at $0.04
    totals = p.session_totals("s1")
    assert (totals.operations, totals.images, totals.total_cost) == (1, 3, Decimal("0.12"))


def test_the_priced_record_carries_its_source_position():
    outcome = processor().process(raw(image_event()), partition=2, offset=41)
    assert (outcome.priced.source.partition, outcome.priced.source.offset) == (2, 41)


def test_the_same_event_id_sent_twice_is_counted_once():
    p = processor()
    event = image_event()
    p.process(raw(event), 0, 0)
    assert p.process(raw(event), 0, 1).status == "duplicate"
    assert p.session_totals("s1").operations == 1


def test_a_replayed_message_is_re_emitted_but_not_re_applied():
    # After a crash the same offset is delivered again: its priced record may never have
    # left, so it is emitted again (the sink de-duplicates); the totals already hold it.
    p = processor()
    event = image_event()
    first = p.process(raw(event), 0, 7)
    replay = p.process(raw(event), 0, 7)
    assert replay.status == "priced"
    assert (first.priced.replayed, replay.priced.replayed) == (False, True)
    assert replay.priced.model_copy(update={"replayed": False}) == first.priced
    assert p.session_totals("s1").operations == 1


def test_malformed_bytes_become_a_dead_letter_with_the_reason():
    outcome = processor().process(b'{"tenant_id": 1', 0, 0)
    assert outcome.status == "dead_letter"
    assert "invalid usage event" in outcome.dead_letter.reason
    assert outcome.dead_letter.errors


def test_a_message_without_a_value_becomes_a_dead_letter():
    assert processor().process(None, 0, 0).dead_letter.reason == "empty message (no value)"


def test_an_unknown_model_is_kept_and_counted_as_unpriced_never_as_free():
    p = processor()
    outcome = p.process(raw(image_event(model="imagen-99")), 0, 0)
    assert outcome.status == "unpriced"
    assert "imagen-99" in outcome.priced.reason
    totals = p.session_totals("s1")
    assert (totals.operations, totals.unpriced_operations) == (1, 1)


def test_a_session_cannot_be_reused_by_another_tenant():
    p = processor()
    p.process(raw(image_event(tenant="acme")), 0, 0)
    outcome = p.process(raw(image_event(tenant="globex")), 0, 1)
    assert outcome.status == "dead_letter"
    assert "another tenant" in outcome.dead_letter.reason
    assert p.session_totals("s1").tenant_id == "acme"


def test_a_gigantic_message_is_dead_lettered_without_being_parsed():
    outcome = processor().process(b"{" + b" " * 70_000 + b"}", 0, 0)
    assert "exceeds the 65536-byte limit" in outcome.dead_letter.reason


def test_a_resend_after_the_dedup_window_counts_as_new():
    now = [1_000_000.0]
    p = MeteringProcessor(CATALOG, {}, {}, "usage.events", dedup_window=timedelta(days=7), clock=lambda: now[0])
    event = image_event()
    p.process(raw(event), 0, 0)
    now[0] += timedelta(days=7).total_seconds() - 1
    assert p.process(raw(event), 0, 1).status == "duplicate"
    now[0] += 2
    assert p.process(raw(event), 0, 2).status == "priced"


def test_counts_record_every_outcome_by_tenant_and_partition():
    p = processor()
    event = image_event()
    for offset, payload in enumerate((raw(event), raw(event), b"junk")):
        p.process(payload, 3, offset)
    assert p.counts == {("acme", 3, "priced"): 1, ("acme", 3, "duplicate"): 1, ("(unknown)", 3, "dead_letter"): 1}


def test_the_ledger_counts_each_message_once_across_a_replay():
    p = processor()
    event = image_event()
    log = [raw(event), raw(event), b"junk", raw(image_event(model="imagen-99"))]
    for offset, payload in enumerate(log):
        p.process(payload, 0, offset)
    for offset, payload in enumerate(log[1:], start=1):  # crash: everything after offset 0 again
        p.process(payload, 0, offset)
    assert p.ledger_by_tenant() == {
        "acme": {"priced": 1, "unpriced": 1, "duplicate": 1, "conflict": 0, "dead_letter": 0},
        "(unknown)": {"priced": 0, "unpriced": 0, "duplicate": 0, "conflict": 0, "dead_letter": 1},
    }


sessions = st.sampled_from(["s1", "s2", "s3"])


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(st.tuples(sessions, st.integers(1, 5)), min_size=1, max_size=12),
    resends=st.lists(st.integers(0, 11), max_size=6),
    replay_from=st.integers(0, 30),
)
def test_totals_equal_a_single_pass_over_unique_events_whatever_is_resent_or_replayed(plan, resends, replay_from):
    events = [image_event(images=n, session=s) for s, n in plan]
    log = [raw(e) for e in events] + [raw(events[i % len(events)]) for i in resends]

    p = processor()
    for offset, payload in enumerate(log):
        p.process(payload, 0, offset)
    # A crash rewinds to an earlier committed offset: everything after it is delivered again.
    for offset, payload in enumerate(log[replay_from:], start=replay_from):
        p.process(payload, 0, offset)

    for session in {s for s, _ in plan}:
        images = sum(n for s, n in plan if s == session)
        totals = p.session_totals(session)
        assert totals.operations == sum(1 for s, _ in plan if s == session)
        assert totals.images == images
        assert totals.total_cost == images * Decimal("0.04")
        assert totals.unpriced_operations == 0


@settings(max_examples=400, deadline=None)
@given(payload=payloads)
def test_any_payload_is_metered_or_dead_lettered_never_raised(payload):
    outcome = processor().process(payload, 0, 0)
    assert outcome.status in ("priced", "unpriced", "dead_letter")
    assert (outcome.dead_letter is not None) == (outcome.status == "dead_letter")
    if outcome.dead_letter is not None:
        assert outcome.dead_letter.reason


def test_priced_records_pass_full_validation_in_every_billing_unit():
    # The processor builds them without validating (pricing/trusted.py); the sink validates them.
    p, units = processor(), set()
    for offset, event in enumerate(studio_workload(200, sessions=5)):
        priced = p.process(raw(event), 0, offset).priced
        assert PricedUsage.model_validate_json(priced.model_dump_json()) == priced
        units.add(event.usage.unit)
    assert units == {"tokens", "images", "video", "characters"}


def test_a_message_beyond_the_next_offset_is_refused_as_a_gap():
    p = processor()
    p.process(raw(image_event()), partition=1, offset=10)
    p.process(raw(image_event()), partition=1, offset=11)
    with pytest.raises(OffsetGap, match="expected offset 12, was given 15"):
        p.process(raw(image_event()), partition=1, offset=15)
    assert p.session_totals("s1").operations == 2  # the message after the gap was not applied


def test_replays_below_the_last_offset_are_not_gaps():
    p = processor()
    for offset in (5, 6, 7, 5, 6, 7, 8):
        p.process(raw(image_event()), partition=0, offset=offset)
    assert p.positions == {"0": 8}


class ChangeloggedTable(dict):
    """A table as the worker has it: a local store plus the changelog of every write sent."""

    def __init__(self, local=(), changelog=()) -> None:
        super().__init__(local)
        self.changelog = list(changelog)

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.changelog.append((key, value))

    def rebuilt(self) -> dict:
        return dict(self.changelog)


TABLES = ("sessions", "seen", "ledger", "positions")


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(st.tuples(sessions, st.integers(1, 5)), min_size=1, max_size=12),
    resends=st.lists(st.integers(0, 11), max_size=6),
    crash=st.data(),
)
def test_after_a_crash_and_its_replay_the_changelog_alone_rebuilds_the_same_state(plan, resends, crash):
    # kill -9 after offset `committed`: the local store keeps every write, the changelog only
    # those sent before the commit. The replay must leave the changelog complete again.
    events = [image_event(images=n, session=s) for s, n in plan]
    log = [raw(e) for e in events] + [raw(events[i % len(events)]) for i in resends]
    committed = crash.draw(st.integers(0, len(log)), label="committed")
    tables = {name: ChangeloggedTable() for name in TABLES}
    sent = {}
    before = MeteringProcessor(CATALOG, topic="usage.events", **tables)
    for offset, payload in enumerate(log):
        if offset == committed:
            sent = {name: len(table.changelog) for name, table in tables.items()}
        before.process(payload, 0, offset)
    sent = sent or {name: len(table.changelog) for name, table in tables.items()}

    restarted = {name: ChangeloggedTable(table, table.changelog[:sent[name]]) for name, table in tables.items()}
    after = MeteringProcessor(CATALOG, topic="usage.events", **restarted)
    for offset, payload in enumerate(log[committed:], start=committed):
        after.process(payload, 0, offset)

    for name, table in restarted.items():
        assert table.rebuilt() == dict(table), name
    rebuilt = MeteringProcessor(CATALOG, topic="usage.events",
                                **{name: table.rebuilt() for name, table in restarted.items()})
    assert rebuilt.process(log[0], 0, len(log)).status == "duplicate"  # a later re-send


def test_a_message_forwarded_twice_is_a_replay_counted_once():
    """The router forwards a message again after a crash: same source position, a new routed offset."""
    p = processor()
    event = image_event(images=2)
    first = p.process(raw(event), 0, 10, source="usage.events:5", source_offset=77)
    again = p.process(raw(event), 0, 11, source="usage.events:5", source_offset=77)
    assert (first.status, again.status, again.priced.replayed) == ("priced", "priced", True)
    assert p.session_totals("s1").images == 2
    assert p.ledger_by_tenant() == {"acme": {"priced": 1, "unpriced": 0, "duplicate": 0, "conflict": 0, "dead_letter": 0}}


def test_a_sessions_events_from_several_source_partitions_all_count():
    p = processor()
    for routed_offset, (source, offset) in enumerate([("usage.events:0", 9), ("usage.events:3", 2),
                                                       ("usage.events:1", 40), ("usage.events:3", 3)]):
        p.process(raw(image_event(images=1)), 0, routed_offset, source=source, source_offset=offset)
    assert p.session_totals("s1").images == 4


def test_a_resend_on_another_source_partition_is_a_duplicate():
    p = processor()
    event = image_event()
    p.process(raw(event), 0, 0, source="usage.events:0", source_offset=1)
    assert p.process(raw(event), 0, 1, source="usage.events:2", source_offset=1).status == "duplicate"


def test_a_resend_with_other_content_is_a_conflict_counted_apart_and_the_first_one_counts():
    p = processor()
    event = image_event(images=2)
    changed = event.model_copy(update={"usage": ImageUsage(images=5)})
    retried = event.model_copy(update={"occurred_at": AT.replace(minute=1), "api_key_id": "k2"})  # a retry, not a change
    outcomes = [p.process(raw(e), 0, n) for n, e in enumerate([event, changed, retried])]
    assert [o.status for o in outcomes] == ["priced", "conflict", "duplicate"]
    assert outcomes[1].priced is None and outcomes[1].dead_letter is None  # dropped, as a duplicate is
    assert p.session_totals("s1").images == 2
    assert p.ledger_by_tenant() == {"acme": {"priced": 1, "unpriced": 0, "duplicate": 1, "conflict": 1,
                                             "dead_letter": 0}}


def test_an_id_seen_before_fingerprints_were_kept_is_a_plain_duplicate():
    p = processor()
    event = image_event()
    p.process(raw(event), 0, 0)
    p.seen[str(event.event_id)].pop("h")
    assert p.process(raw(event.model_copy(update={"usage": ImageUsage(images=9)})), 0, 1).status == "duplicate"


def test_priced_records_name_the_events_original_position():
    outcome = processor().process(raw(image_event()), 0, 3, source="usage.events:6", source_offset=12)
    assert (outcome.priced.source.topic, outcome.priced.source.partition, outcome.priced.source.offset) == (
        "usage.events", 6, 12)
