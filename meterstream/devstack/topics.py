"""Creating the pipeline's topics before the worker and sink start.

The worker's changelog topics are created here too, before Faust starts: left to Faust,
a worker on a freshly started broker can read their metadata before it shows any
partition and stop with PartitionsMismatch (seen in the demo under load). So is Faust's
own leader-election topic: Faust would create it with one replica, whatever the cluster.

Every topic gets `settings.topic_replication_factor` replicas and
`min.insync.replicas=settings.topic_min_insync_replicas`.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from meterstream.errors import InfrastructureUnavailable
from meterstream.settings import Settings
from meterstream.stream.topics import budget_owner_id, pipeline_topics

log = logging.getLogger(__name__)


def worker_internal_topics(settings: Settings) -> dict[str, int]:
    """Topics Faust itself uses besides the tables' changelogs, with their partition counts."""
    return {f"{app_id}-__assignor-__leader": 1 for app_id in (settings.app_id, budget_owner_id(settings))}


def topic_plan(settings: Settings) -> list[NewTopic]:
    """Every topic the pipeline needs, as it should be created."""
    replication = {"min.insync.replicas": str(settings.topic_min_insync_replicas)}
    partitions = {name: settings.topic_partitions for name in pipeline_topics(settings)}
    configs = {name: {**config, **replication} for name, config in pipeline_topics(settings).items()}
    for name, count in worker_internal_topics(settings).items():
        partitions[name], configs[name] = count, dict(replication)
    return [NewTopic(name, partitions[name], settings.topic_replication_factor, config=configs[name])
            for name in configs]


def ensure_topics(settings: Settings, timeout: float = 60.0) -> None:
    """Create the missing topics and wait until they show; refuse a replication factor
    above the number of brokers (Kafka would refuse each topic with a vaguer error)."""
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    plan = topic_plan(settings)
    metadata = admin.list_topics(timeout=10)
    brokers = len(metadata.brokers)
    if settings.topic_replication_factor > brokers:
        raise InfrastructureUnavailable(
            f"METERSTREAM_TOPIC_REPLICATION_FACTOR is {settings.topic_replication_factor} but "
            f"{settings.kafka_bootstrap} has {brokers} broker{'s' if brokers != 1 else ''}: start a cluster "
            "(`meterstream kafka start --brokers 3`) or lower the replication factor"
        )
    existing = metadata.topics
    for topic in plan:
        if topic.topic in existing:
            replicas = {len(p.replicas) for p in existing[topic.topic].partitions.values()}
            if replicas and min(replicas) < settings.topic_replication_factor:
                log.warning("topic %s exists with %s replicas, fewer than METERSTREAM_TOPIC_REPLICATION_FACTOR=%s; "
                            "it is left as it is", topic.topic, min(replicas), settings.topic_replication_factor)
    wanted = [topic for topic in plan if topic.topic not in existing]
    if wanted:
        for name, future in admin.create_topics(wanted).items():
            try:
                future.result(timeout=30)
            except KafkaException as error:
                if error.args[0].name() != "TOPIC_ALREADY_EXISTS":
                    raise
    names = [topic.topic for topic in plan]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metadata = admin.list_topics(timeout=10).topics
        if all(name in metadata and len(metadata[name].partitions) > 0 for name in names):
            return
        time.sleep(0.2)
    raise InfrastructureUnavailable(f"topics {sorted(names)} did not appear on {settings.kafka_bootstrap}")


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
