"""Creating the pipeline's topics before the worker and sink start."""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from meterstream.settings import Settings


def ensure_topics(settings: Settings) -> None:
    """Create usage.events, usage.priced and usage.dlq if missing (same partition count)."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    existing = admin.list_topics(timeout=10).topics
    wanted = [
        NewTopic(name, settings.topic_partitions, 1)
        for name in (settings.topic_events, settings.topic_priced, settings.topic_dlq)
        if name not in existing
    ]
    if not wanted:
        return
    for name, future in admin.create_topics(wanted).items():
        try:
            future.result(timeout=30)
        except KafkaException as error:
            if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
