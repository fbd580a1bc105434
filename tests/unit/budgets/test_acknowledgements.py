"""The budget owner commits applied offsets once Kafka acknowledged every send before them."""

from __future__ import annotations

from meterstream.budgets.owner import Acknowledgements


def test_offsets_wait_for_every_earlier_send():
    acks = Acknowledgements()
    first, second = acks.on_delivery(), acks.on_delivery()
    noted = acks.sent  # offsets noted after two sends
    assert not acks.confirmed(noted)
    second(None, None)
    assert not acks.confirmed(noted), "the first send is still unacknowledged"
    first(None, None)
    assert acks.confirmed(noted)


def test_sends_after_the_note_do_not_hold_it_back():
    acks = Acknowledgements()
    before = acks.on_delivery()
    noted = acks.sent
    acks.on_delivery()  # sent after the offsets were noted, never acknowledged
    before(None, None)
    assert acks.confirmed(noted)


def test_nothing_sent_is_confirmed_at_once():
    assert Acknowledgements().confirmed(0)
