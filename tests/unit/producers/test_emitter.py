"""The emitter's promises that need no broker: validation first, never blocking, nothing lost."""

from pathlib import Path

import pytest

from meterstream.errors import InvalidUsageEvent
from meterstream.producers import UsageEmitter
from meterstream.producers.spool import Spool, read_records
from meterstream.settings import Settings

EVENT = {"tenant_id": "acme", "session_id": "s", "service": "image", "model": "imagen-4.0-generate",
         "usage": {"unit": "images", "images": 1}}


def dead_broker_emitter(tmp_path: Path, **overrides) -> UsageEmitter:
    # Nothing listens on port 1: the broker is down.
    return UsageEmitter(Settings(kafka_bootstrap="127.0.0.1:1", data_dir=tmp_path),
                        **{"message.timeout.ms": 60000, "log_level": 0, **overrides})


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
