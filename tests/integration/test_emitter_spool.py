"""Events spooled while the broker was away reach it once it is back."""

from confluent_kafka import Consumer

from meterstream.devstack import ensure_topics
from meterstream.producers import UsageEmitter
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


def test_spooled_events_are_replayed_when_the_broker_is_reachable(pipeline_settings, tmp_path):
    spool_dir = tmp_path / "spool"
    down = UsageEmitter(pipeline_settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"}),
                        spool_dir=spool_dir, **{"log_level": 0})
    sent = [down.emit(EVENT).model_dump_json().encode() for _ in range(30)]
    down.close(timeout=0.5)

    ensure_topics(pipeline_settings)
    up = UsageEmitter(pipeline_settings, spool_dir=spool_dir, replay_interval=0.2)
    received = read_values(pipeline_settings, expected=len(sent))
    up.close()
    assert sorted(received) == sorted(sent)
    assert list(spool_dir.glob("spool-*.bin")) == []
