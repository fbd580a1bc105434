"""`meterstream kafka start|stop|status`: the local broker, or a local cluster, from Maven Central jars."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from meterstream.cli.common import console
from meterstream.settings import Settings

if TYPE_CHECKING:
    from meterstream.devstack.kafka_cluster import KafkaCluster


def _kafka(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.devstack.kafka_cluster import KafkaCluster
    from meterstream.devstack.pipeline import local_broker, local_cluster

    recorded = KafkaCluster.existing(local_cluster(settings).data_dir)
    wants_cluster = args.brokers is not None and args.brokers > 1
    if wants_cluster or (args.brokers is None and recorded is not None):
        if args.action == "start" and recorded is not None and args.brokers not in (None, recorded.brokers):
            console.print(f"[red]{recorded.data_dir} holds a cluster of {recorded.brokers} brokers[/]; "
                          "start it without --brokers, or remove that folder first")
            return 2
        return _cluster(args.action, recorded or local_cluster(settings, args.brokers))
    broker = local_broker(settings)
    if args.action == "start":
        with console.status(f"starting Kafka on {broker.bootstrap} (data in {broker.data_dir})..."):
            broker.start()
        console.print(f"Kafka is up on {broker.bootstrap} (pid {broker.pid()}); log: {broker.log_file}")
    elif args.action == "stop":
        console.print("Kafka stopped" if broker.stop() else "Kafka was not running")
    else:
        pid = broker.pid()
        console.print(f"Kafka is running on {broker.bootstrap} (pid {pid})" if pid else "Kafka is not running")
        return 0 if pid else 3
    return 0


def _cluster(action: str, cluster: KafkaCluster) -> int:
    if action == "start":
        with console.status(f"starting {cluster.brokers} Kafka brokers (data in {cluster.data_dir})..."):
            cluster.start()
        console.print(f"Kafka cluster of {cluster.brokers} brokers is up; active controller: node "
                      f"{cluster.active_controller()}")
        _print_nodes(cluster)
        replication = min(3, cluster.brokers)
        console.print("For the pipeline:\n"
                      f"  export METERSTREAM_KAFKA_BOOTSTRAP={cluster.bootstrap}\n"
                      f"  export METERSTREAM_TOPIC_REPLICATION_FACTOR={replication}\n"
                      f"  export METERSTREAM_TOPIC_MIN_INSYNC_REPLICAS={max(1, replication - 1)}", soft_wrap=True)
        return 0
    if action == "stop":
        console.print("Kafka cluster stopped" if cluster.stop() else "Kafka cluster was not running")
        return 0
    pids = cluster.running()
    up = sum(pid is not None for pid in pids.values())
    controller = cluster.active_controller() if up else None
    console.print(f"Kafka cluster: {up} of {len(pids)} brokers running"
                  + (f"; active controller: node {controller}" if controller is not None else ""))
    _print_nodes(cluster)
    console.print(f"METERSTREAM_KAFKA_BOOTSTRAP={cluster.bootstrap}", soft_wrap=True)
    return 0 if up == len(pids) else 3


def _print_nodes(cluster: KafkaCluster) -> None:
    for node in cluster.nodes():
        pid = node.pid()
        console.print(f"  node {node.node_id}: {node.bootstrap} (controller port {node.controller_port}) "
                      + (f"pid {pid}" if pid else "[red]down[/]") + f"  log: {node.log_file}", soft_wrap=True)


def register(commands: argparse._SubParsersAction) -> None:
    kafka = commands.add_parser("kafka", help="run the local Kafka broker or cluster (from Maven Central jars)")
    kafka.add_argument("action", choices=("start", "stop", "status"))
    kafka.add_argument("--brokers", type=int, default=None, metavar="N",
                       help="start N brokers (KRaft, a controller quorum of all N) in "
                            "$METERSTREAM_DATA_DIR/kafka-cluster; stop and status find a started cluster "
                            "without it (default: the single broker)")
    kafka.set_defaults(handler=_kafka)
