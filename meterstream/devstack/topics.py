"""Creating the pipeline's topics before the worker and sink start.

The worker's changelog topics are created here too, before Faust starts: left to Faust,
a worker on a freshly started broker can read their metadata before it shows any
partition and stop with PartitionsMismatch (seen in the demo under load).
"""

from __future__ import annotations

import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from meterstream.errors import InfrastructureUnavailable
from meterstream.settings import Settings
from meterstream.stream.topics import pipeline_topics


def ensure_topics(settings: Settings, timeout: float = 60.0) -> None:
    """Create the missing topics, all with the same partition count, and wait until they show."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    topics = pipeline_topics(settings)
    existing = admin.list_topics(timeout=10).topics
    wanted = [
        NewTopic(name, settings.topic_partitions, 1, config=config)
        for name, config in topics.items()
        if name not in existing
    ]
    if wanted:
        for name, future in admin.create_topics(wanted).items():
            try:
                future.result(timeout=30)
            except KafkaException as error:
                if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metadata = admin.list_topics(timeout=10).topics
        if all(name in metadata and len(metadata[name].partitions) > 0 for name in topics):
            return
        time.sleep(0.2)
    raise InfrastructureUnavailable(f"topics {sorted(topics)} did not appear on {settings.kafka_bootstrap}")


def external_topics(settings: Settings) -> list[str]:
    """The topics whose partition count may be raised while the pipeline runs: what producers
    write to, what the sink reads, and the DLQ. The internal topics (usage.routed and the
    worker's changelogs) keep the count they were created with (stream/routing.py)."""
    return [settings.topic_events, settings.topic_priced, settings.topic_dlq]


def scale_topics(settings: Settings, partitions: int, timeout: float = 60.0) -> dict[str, tuple[int, int]]:
    """Raise the partition count of the external topics to `partitions`; returns, per topic,
    the count before and after. Kafka cannot lower a count; asking for fewer is an error."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    metadata = admin.list_topics(timeout=10).topics
    changes: dict[str, tuple[int, int]] = {}
    wanted = []
    for name in external_topics(settings):
        if name not in metadata:
            raise InfrastructureUnavailable(f"topic {name} does not exist on {settings.kafka_bootstrap}")
        current = len(metadata[name].partitions)
        if partitions < current:
            raise ValueError(f"{name} has {current} partitions; Kafka cannot lower a partition count")
        changes[name] = (current, partitions)
        if partitions > current:
            wanted.append(NewPartitions(name, partitions))
    if wanted:
        for future in admin.create_partitions(wanted).values():
            future.result(timeout=timeout)
    return changes
