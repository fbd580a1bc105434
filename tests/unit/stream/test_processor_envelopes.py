"""Batch envelopes through the metering rules: the router's split (routing.py), then the
processor, each event guarded by its (offset, index)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from meterstream.schemas.envelope import encode_envelope
from meterstream.stream import MeteringProcessor
from meterstream.stream.routing import RoutedItem, split_message
from tests.unit.stream.test_processor import CATALOG, image_event, processor, raw

SOURCE = "usage.events:0"


def items_of(messages: list[bytes]) -> list[RoutedItem]:
    """The routed items of `messages` at offsets 0, 1, ... of one source partition."""
    return [item for offset, value in enumerate(messages) for item, _ in split_message(SOURCE, offset, b"k", value)]


def meter(p: MeteringProcessor, items: list[RoutedItem], routed_offset: int = 0):
    return [p.process(item.value, 0, routed_offset, item.source, item.offset, item.index) for item in items]


def envelope(*events) -> bytes:
    return encode_envelope([raw(event) for event in events])


def test_each_event_of_an_envelope_is_metered():
    p = processor()
    outcomes = meter(p, items_of([envelope(image_event(2), image_event(3, session="s2"))]))
    assert [o.status for o in outcomes] == ["priced", "priced"]
    assert (p.session_totals("s1").images, p.session_totals("s2").images) == (2, 3)


def test_a_bad_event_in_an_envelope_is_dead_lettered_alone_with_its_bytes():
    p = processor()
    good = image_event(2)
    value = encode_envelope([raw(good), b'{"session_id": "s1", "tenant_id": "acme"}', raw(image_event(1))])
    items = items_of([value])
    outcomes = meter(p, items)
    assert [o.status for o in outcomes] == ["priced", "dead_letter", "priced"]
    assert "invalid usage event" in outcomes[1].dead_letter.reason
    assert (items[1].index, items[1].value) == (1, b'{"session_id":"s1","tenant_id":"acme"}')
    assert p.session_totals("s1").images == 3


def test_a_malformed_envelope_is_dead_lettered_whole_saying_why():
    p = processor()
    for value, reason in [(b'{"meterstream_batch": 9, "events": [{}]}', "version 9"),
                          (b'{"meterstream_batch": 1, "events": "x"}', "without an `events` list"),
                          (b'{"meterstream_batch": 1, "events": []}', "no events")]:
        [item] = items_of([value])
        assert item.index is None
        [outcome] = meter(p, [item])
        assert outcome.status == "dead_letter" and reason in outcome.dead_letter.reason


def test_a_kill_9_in_the_middle_of_an_envelope_replays_it_counting_each_event_once():
    p = processor()
    items = items_of([raw(image_event(1)), envelope(*(image_event(n) for n in (2, 4, 8))), raw(image_event(16))])
    meter(p, items[:3])  # crash after the envelope's second event
    again = meter(p, items)
    assert [o.status for o in again] == ["priced"] * 5
    assert [o.priced.replayed for o in again] == [True, True, True, False, False]
    assert p.session_totals("s1").images == 31
    assert p.sessions["s1"]["offsets"] == {SOURCE: 2}  # a single event last: a bare offset, as before envelopes
    assert p.ledger_by_tenant()["acme"]["priced"] == 5


def test_a_re_sent_envelope_counts_nothing_twice():
    p = processor()
    value = envelope(image_event(2), image_event(3, session="s2"))
    outcomes = meter(p, items_of([value, value]))
    assert [o.status for o in outcomes] == ["priced", "priced", "duplicate", "duplicate"]
    assert p.ledger_by_tenant()["acme"] == {"priced": 2, "unpriced": 0, "duplicate": 2, "conflict": 0,
                                            "dead_letter": 0}


def test_an_event_again_in_a_later_envelope_or_twice_in_one_is_a_duplicate():
    p = processor()
    event, other = image_event(2), image_event(5)
    outcomes = meter(p, items_of([envelope(event), envelope(other, event, other)]))
    assert [o.status for o in outcomes] == ["priced", "priced", "duplicate", "duplicate"]
    assert p.session_totals("s1").images == 7
    assert p.seen[str(other.event_id)] | {"t": 0} == {"s": SOURCE, "o": 1, "i": 0, "t": 0,
                                                    "h": p.seen[str(other.event_id)]["h"]}


def test_state_stored_before_envelopes_keeps_its_meaning():
    """A bare stored offset meant "the message at that offset is applied": it still does."""
    p = MeteringProcessor(CATALOG, topic="usage.events", sessions={}, seen={}, ledger={})
    old = image_event(2)
    p.process(raw(old), 0, 0, SOURCE, 7)
    assert p.sessions["s1"]["offsets"] == {SOURCE: 7} and p.ledger[f"0|{SOURCE}|acme"]["offset"] == 7
    assert "i" not in p.seen[str(old.event_id)]
    assert p.process(raw(image_event(4)), 0, 1, SOURCE, 7, 0).priced.replayed  # covered by the bare 7
    assert not p.process(raw(image_event(4)), 0, 2, SOURCE, 8, 0).priced.replayed
    assert p.session_totals("s1").images == 6
    assert p.sessions["s1"]["offsets"] == {SOURCE: [8, 0]}

sessions = st.sampled_from(["s1", "s2", "s3"])


@settings(max_examples=80, deadline=None)
@given(
    plan=st.lists(st.tuples(sessions, st.integers(1, 5)), min_size=1, max_size=14),
    resends=st.lists(st.integers(0, 13), max_size=6),
    bad=st.lists(st.integers(0, 20), max_size=3),
    data=st.data(),
)
def test_one_by_one_or_in_envelopes_of_any_sizes_gives_the_same_totals_ledger_and_records(plan, resends, bad, data):
    events = [image_event(images=n, session=s) for s, n in plan]
    payloads = [raw(e) for e in events] + [raw(events[i % len(events)]) for i in resends]
    for at in sorted(bad, reverse=True):  # malformed items among the events
        payloads.insert(min(at, len(payloads)), b'{"tenant_id": "acme", "session_id": "s1"}')

    def stored_by(messages: list[bytes], replay_from: int) -> tuple:
        p = processor()
        items = items_of(messages)
        outcomes = meter(p, items)
        # kill -9: everything from some item on (mid-envelope or not) is delivered again
        meter(p, items[replay_from % (len(items) + 1):], routed_offset=1)
        records = sorted((o.priced.event.event_id, o.status) for o in outcomes if o.priced is not None)
        totals = {s: p.session_totals(s) for s in {s for s, _ in plan}}
        return totals, p.ledger_by_tenant(), records

    sizes = []
    while sum(sizes) < len(payloads):
        sizes.append(data.draw(st.integers(1, 6), label="envelope size"))
    messages, start = [], 0
    for size in sizes:
        chunk = payloads[start:start + size]
        single = size == 1 and data.draw(st.booleans(), label="single message")
        messages.append(chunk[0] if single else encode_envelope(chunk))
        start += size
    one_by_one = stored_by(payloads, data.draw(st.integers(0, 40), label="replay from"))
    enveloped = stored_by(messages, data.draw(st.integers(0, 40), label="replay from"))
    assert enveloped == one_by_one
    totals = one_by_one[0]
    for session, total in totals.items():
        assert total.images == sum(n for s, n in plan if s == session)
        assert total.total_cost == total.images * Decimal("0.04")
