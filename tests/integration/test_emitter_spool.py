"""Events spooled while the broker was away reach it once it is back, single or in envelopes."""

import orjson
import pytest
from confluent_kafka import Consumer

from meterstream.devstack import ensure_topics
from meterstream.producers import UsageEmitter
from meterstream.schemas.envelope import decode_envelope
from meterstream.settings import Settings

EVENT = {"tenant_id": "acme", "session_id": "s", "service": "image", "model": "imagen-4.0-generate",
         "usage": {"unit": "images", "images": 1}}


def read_values(settings: Settings, expected: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "spool-check",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([settings.topic_events])
    values: list[bytes] = []
    for _ in range(120):
        if len(values) >= expected:
            break
        values += [m.value() for m in consumer.consume(expected, timeout=0.5) if not m.error()]
    consumer.close()
    return values


@pytest.mark.parametrize("linger_ms", [0, 5])
def test_spooled_events_are_replayed_when_the_broker_is_reachable(pipeline_settings, tmp_path, linger_ms):
    settings = pipeline_settings.model_copy(update={"emit_linger_ms": linger_ms})
    spool_dir = tmp_path / "spool"
    down = UsageEmitter(settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"}),
                        spool_dir=spool_dir, **{"log_level": 0})
    sent = [down.emit({**EVENT, "session_id": f"s{n % 3}"}).model_dump_json() for n in range(30)]
    down.close(timeout=0.5)

    ensure_topics(settings)
    up = UsageEmitter(settings, spool_dir=spool_dir, replay_interval=0.2)
    # one envelope per session: the broker was away, so no partition count was known
    received = read_values(settings, expected=3 if linger_ms else len(sent))
    up.close()
    events = [item for value in received for item in decode_envelope(value) or [value]]
    compact = sorted(orjson.dumps(orjson.loads(event)) for event in events)
    assert compact == sorted(orjson.dumps(orjson.loads(event)) for event in sent)
    assert list(spool_dir.glob("spool-*.bin")) == []
