"""The emitter's promises that need no broker: validation first, never blocking, nothing lost."""

import time
from pathlib import Path

import orjson
import pytest

from meterstream.errors import InvalidUsageEvent
from meterstream.producers import UsageEmitter
from meterstream.producers.batching import MAX_ENVELOPE_BYTES, MAX_EVENTS_PER_ENVELOPE, batch_messages
from meterstream.producers.spool import Spool, read_records
from meterstream.schemas.envelope import decode_envelope
from meterstream.settings import Settings

EVENT = {"tenant_id": "acme", "session_id": "s", "service": "image", "model": "imagen-4.0-generate",
         "usage": {"unit": "images", "images": 1}}


def dead_broker_emitter(tmp_path: Path, linger_ms: float = 0, **overrides) -> UsageEmitter:
    # Nothing listens on port 1: the broker is down.
    return UsageEmitter(Settings(kafka_bootstrap="127.0.0.1:1", data_dir=tmp_path, emit_linger_ms=linger_ms),
                        **{"message.timeout.ms": 60000, "log_level": 0, **overrides})


def events_in(values: list[bytes]) -> list[bytes]:
    """The events of spooled messages, each single event or envelope, as compact JSON."""
    return sorted(orjson.dumps(orjson.loads(event))
                  for value in values for event in decode_envelope(value) or [value])


def spooled(directory: Path) -> list[bytes]:
    return [value for path in sorted(directory.glob("spool-*.bin")) for _, value in read_records(path)]


def test_emit_rejects_an_invalid_event_naming_the_field(tmp_path):
    emitter = dead_broker_emitter(tmp_path)
    with pytest.raises(InvalidUsageEvent) as caught:
        emitter.emit({**EVENT, "usage": {"unit": "tokens", "output_tokens": "many"}})
    assert caught.value.errors[0]["field"] == "usage.tokens.output_tokens"
    emitter.close(timeout=0)


def test_emit_returns_the_event_with_its_generated_id(tmp_path):
    emitter = dead_broker_emitter(tmp_path)
    assert emitter.emit(EVENT).event_id is not None
    emitter.close(timeout=0)


def test_with_the_broker_down_close_spools_every_undelivered_event(tmp_path):
    emitter = dead_broker_emitter(tmp_path)
    sent = [emitter.emit(EVENT).model_dump_json().encode() for _ in range(20)]
    emitter.close(timeout=0.5)
    assert sorted(spooled(tmp_path / "spool")) == sorted(sent)


def test_a_full_queue_spools_instead_of_blocking_or_raising(tmp_path):
    emitter = dead_broker_emitter(tmp_path, **{"queue.buffering.max.messages": 5})
    for _ in range(50):
        emitter.emit(EVENT)
    # Spooled at once, while the queue still holds its five: emit did not wait for room.
    assert emitter.counts() == {"delivered": 0, "spooled": 45, "queued": 5}
    emitter.close(timeout=0.2)
    assert len(spooled(tmp_path / "spool")) == 50


def test_a_torn_last_spool_record_is_skipped_and_the_rest_read(tmp_path):
    spool = Spool(tmp_path)
    spool.append(b"k1", b"v1")
    spool.append(None, b"v2")
    spool.seal()
    path, = spool.sealed_files()
    path.write_bytes(path.read_bytes() + b"\x00\x00\x00\x02\x00\x00\x00\x09k3partial")
    assert list(read_records(path)) == [(b"k1", b"v1"), (b"", b"v2")]


@pytest.mark.parametrize("linger_ms", [0, 5])
def test_with_the_broker_down_close_spools_every_undelivered_event_single_or_in_envelopes(tmp_path, linger_ms):
    emitter = dead_broker_emitter(tmp_path, linger_ms)
    sent = [emitter.emit({**EVENT, "session_id": f"s{n % 3}"}).model_dump_json().encode() for n in range(30)]
    emitter.close(timeout=0.5)
    values = spooled(tmp_path / "spool")
    assert events_in(values) == events_in(sent)
    assert len(values) == (30 if linger_ms == 0 else 3)  # no partition count known: one envelope per key


def test_events_linger_then_leave_as_one_message_per_destination(tmp_path):
    emitter = dead_broker_emitter(tmp_path, linger_ms=200)
    sent = [emitter.emit({**EVENT, "session_id": f"s{n % 2}"}).model_dump_json().encode() for n in range(12)]
    assert len(emitter._pending) == 12  # held for the linger, emit() did not produce
    deadline = time.monotonic() + 10
    while emitter._pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not emitter._pending
    sent.append(emitter.emit(EVENT).model_dump_json().encode())
    emitter.flush(0)  # flush sends what is held at once
    assert not emitter._pending
    emitter.close(timeout=0)
    values = spooled(tmp_path / "spool")
    assert len(values) == 3 and events_in(values) == events_in(sent)  # two envelopes and a single event


def test_events_are_grouped_by_the_partition_their_key_lands_on_in_emit_order():
    records = [(f"s{n % 5}".encode(), b'{"n":%d}' % n) for n in range(20)]
    messages = batch_messages(records, place=lambda key: int(key[1:]) % 2)
    # keyed by the first event's key: placed on the same partition as every event in it
    assert [(key, indexes) for key, _, indexes in messages] == [
        (b"s0", [n for n in range(20) if n % 5 % 2 == 0]), (b"s1", [n for n in range(20) if n % 5 % 2])]
    assert [orjson.loads(event)["n"] for event in decode_envelope(messages[0][1])] == [
        n for n in range(20) if n % 5 % 2 == 0]
    assert batch_messages([(b"s1", b"{}"), (b"s2", b"[]"), (b"s1", b"1")], place=None) == [
        (b"s1", b'{"meterstream_batch":1,"events":[{},1]}', [0, 2]), (b"s2", b"[]", [1])]  # a group of one: as it is


def test_an_envelope_stays_within_its_size_limits():
    many = batch_messages([(b"s", b"{}")] * (2 * MAX_EVENTS_PER_ENVELOPE + 1), place=None)
    assert [len(decode_envelope(value) or [value]) for _, value, _ in many] == [
        MAX_EVENTS_PER_ENVELOPE, MAX_EVENTS_PER_ENVELOPE, 1]
    big = b'"%s"' % (b"x" * 60_000)
    large = batch_messages([(b"s", big)] * 20, place=None)
    assert all(len(value) <= MAX_ENVELOPE_BYTES + 100 for _, value, _ in large)
    assert sum(len(decode_envelope(value) or [value]) for _, value, _ in large) == 20
