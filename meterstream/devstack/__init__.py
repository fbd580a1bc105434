"""Local infrastructure for development, the demo and tests."""

from meterstream.devstack.isolation import isolated_settings
from meterstream.devstack.kafka_broker import KafkaBroker, free_port, resolve_broker_jars
from meterstream.devstack.kafka_cluster import KafkaCluster
from meterstream.devstack.topics import ensure_topics

__all__ = ["KafkaBroker", "KafkaCluster", "ensure_topics", "free_port", "isolated_settings", "resolve_broker_jars"]
