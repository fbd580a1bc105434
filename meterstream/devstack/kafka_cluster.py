"""A Kafka cluster on loopback: several KRaft nodes from the same Maven jars.

Every node is broker and controller, and every node is a voter of one static controller
quorum (`controller.quorum.voters` lists them all), so a cluster of three keeps a quorum,
and its topics keep a leader, when any one node is lost. All nodes are formatted with one
cluster id. The layout (cluster id, node ids and ports) is written once to `cluster.json`
in the cluster's folder: `meterstream kafka stop|status`, tests and restarts read it there,
and a restarted cluster comes back on the same ports with the same data.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from meterstream.devstack.kafka_broker import (
    KafkaBroker,
    new_cluster_id,
    port_is_open,
    require_tool,
    resolve_broker_jars,
    wait_for_brokers,
)
from meterstream.errors import InfrastructureUnavailable

STATE_FILE = "cluster.json"


@dataclass(frozen=True)
class NodeLayout:
    node_id: int
    port: int
    controller_port: int


def consecutive_ports(first: tuple[int, int], nodes: int) -> list[tuple[int, int]]:
    """The first node's (port, controller port), then for each further node the next two
    ports above all ports taken so far that nothing listens on."""
    ports = [first]
    candidate = max(first) + 1
    while len(ports) < nodes:
        pair = []
        while len(pair) < 2:
            if not port_is_open(candidate):
                pair.append(candidate)
            candidate += 1
        ports.append((pair[0], pair[1]))
    return ports


@dataclass
class KafkaCluster:
    """`brokers` KRaft nodes (broker+controller each) whose files live under `data_dir`.

    `ports` gives each node's (port, controller port); without it the first node takes
    `port`/`controller_port` and the others the next free ports (see `consecutive_ports`).
    A folder that already holds a cluster keeps its recorded layout.
    """

    data_dir: Path
    brokers: int = 3
    port: int = 9092
    controller_port: int = 9093
    ports: list[tuple[int, int]] | None = None
    cache_dir: Path = Path.home() / ".cache" / "meterstream" / "kafka"
    heap: str = "384m"
    partitions: int = 4
    cluster_id: str = ""
    layout: list[NodeLayout] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.brokers < 1:
            raise ValueError("a cluster needs at least one broker")
        state = self.state_file
        if state.exists():
            recorded = json.loads(state.read_text())
            self.cluster_id = recorded["cluster_id"]
            self.layout = [NodeLayout(**node) for node in recorded["nodes"]]
            self.brokers = len(self.layout)

    @classmethod
    def existing(cls, data_dir: Path, **options: object) -> KafkaCluster | None:
        """The cluster recorded in `data_dir`, or None if none was ever started there."""
        if not (data_dir / STATE_FILE).exists():
            return None
        return cls(data_dir=data_dir, **options)  # type: ignore[arg-type]

    @property
    def state_file(self) -> Path:
        return self.data_dir / STATE_FILE

    @property
    def node_ids(self) -> list[int]:
        return [node.node_id for node in self.layout]

    @property
    def bootstrap(self) -> str:
        """Every node's address: what METERSTREAM_KAFKA_BOOTSTRAP should say."""
        return ",".join(f"127.0.0.1:{node.port}" for node in self.layout)

    def node(self, node_id: int) -> KafkaBroker:
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.layout)
        for n in self.layout:
            if n.node_id == node_id:
                return KafkaBroker(
                    data_dir=self.data_dir / f"node-{node_id}", port=n.port, controller_port=n.controller_port,
                    cache_dir=self.cache_dir, heap=self.heap, partitions=self.partitions, node_id=node_id,
                    quorum_voters=voters, cluster_id=self.cluster_id,
                    internal_replication=min(3, len(self.layout)),
                )
        raise KeyError(f"no node {node_id} in this cluster (nodes {self.node_ids})")

    def nodes(self) -> Iterator[KafkaBroker]:
        for node_id in self.node_ids:
            yield self.node(node_id)

    def _record_layout(self) -> None:
        """Pick the cluster id and ports once and write them down."""
        if self.layout:
            return
        java = require_tool("java", "run the Kafka broker (Java 17+)")
        self.cluster_id = new_cluster_id(java, f"{resolve_broker_jars(self.cache_dir)}/*")
        ports = self.ports or consecutive_ports((self.port, self.controller_port), self.brokers)
        if len(ports) != self.brokers:
            raise ValueError(f"{len(ports)} port pairs for {self.brokers} brokers")
        self.layout = [NodeLayout(i, port, cport) for i, (port, cport) in enumerate(ports, start=1)]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(
            {"cluster_id": self.cluster_id, "nodes": [vars(node) for node in self.layout]}, indent=2) + "\n")

    def start(self, timeout: float = 120.0) -> None:
        """Start every node (all at once: a quorum of three needs two to elect a controller),
        then wait until every broker is registered with the elected controller."""
        self._record_layout()
        processes: dict[int, subprocess.Popen | None] = {}
        try:
            for node in self.nodes():
                processes[node.node_id] = node.launch()
            self.wait_ready(timeout, self.node_ids, processes)
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float, node_ids: list[int] | None = None,
                   processes: dict[int, subprocess.Popen | None] | None = None) -> None:
        """Wait until the metadata lists every one of `node_ids` (default: all) as a broker,
        which happens only once a controller is elected and has registered them."""
        wanted = set(node_ids or self.node_ids)

        def check_alive() -> None:
            for node_id, process in (processes or {}).items():
                if process is not None and process.poll() is not None:
                    node = self.node(node_id)
                    raise InfrastructureUnavailable(
                        f"Kafka node {node_id} exited with code {process.returncode}; "
                        f"see {node.log_file}:\n{node._log_tail()}"
                    )

        seen = wait_for_brokers(self.bootstrap, wanted.issubset, timeout, check_alive)
        if seen is None:
            return
        raise InfrastructureUnavailable(
            f"Kafka nodes {sorted(wanted - seen)} did not join the cluster on {self.bootstrap} within "
            f"{timeout:.0f}s; logs in {self.data_dir}/node-*/broker.log"
        )

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop every node cleanly; False if none was running.

        All nodes are signalled at once: stopped one after the other, the last node waits
        for a controller quorum that has already gone (30 s here before the SIGKILL)."""
        running = [node for node in self.nodes() if node.pid() is not None]
        for node in running:
            node.terminate()
        for node in running:
            node.stop(timeout)
        return bool(running)

    def kill(self, node_id: int) -> None:
        """kill -9 one node: no clean shutdown, no leadership handed over first."""
        if not self.node(node_id).kill():
            raise InfrastructureUnavailable(f"Kafka node {node_id} is not running")

    def restart(self, node_id: int, timeout: float = 90.0) -> None:
        """Start one stopped or killed node again and wait until it is a broker of the cluster."""
        process = self.node(node_id).launch()
        self.wait_ready(timeout, [node_id], {node_id: process})

    def running(self) -> dict[int, int | None]:
        """Each node's pid, None for a node that is down."""
        return {node.node_id: node.pid() for node in self.nodes()}

    def active_controller(self) -> int | None:
        """The quorum leader, read from the nodes' on-disk raft state (`quorum-state`, which
        each voter rewrites on every election): the leader of the highest epoch seen by a
        running node. None before the first election."""
        best: tuple[int, int] | None = None
        for node in self.nodes():
            if node.pid() is None:
                continue
            try:
                state = json.loads((node.data_dir / "logs" / "__cluster_metadata-0" / "quorum-state").read_text())
            except (FileNotFoundError, ValueError):
                continue
            leader, epoch = state.get("leaderId", -1), state.get("leaderEpoch", -1)
            if leader >= 0 and (best is None or epoch > best[1]):
                best = (leader, epoch)
        return best[0] if best else None

    def partition_leaders(self, topic: str, timeout: float = 15.0) -> dict[int, int]:
        """partition -> the node id that leads it now (-1 while a partition has no leader).
        A topic created a moment ago may not be known to every node yet: asked again."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        deadline = time.monotonic() + timeout
        while True:
            metadata = admin.list_topics(topic, timeout=10).topics[topic]
            if metadata.error is None:
                return {p.id: p.leader for p in metadata.partitions.values()}
            if time.monotonic() > deadline:
                raise InfrastructureUnavailable(f"cannot describe {topic}: {metadata.error}")
            time.sleep(0.2)

    def leader_of_most_partitions(self, topic: str) -> int:
        """The node that leads the most partitions of `topic` (lowest id on a tie)."""
        counts = Counter(leader for leader in self.partition_leaders(topic).values() if leader >= 0)
        if not counts:
            raise InfrastructureUnavailable(f"no partition of {topic} has a leader")
        return min(counts, key=lambda node_id: (-counts[node_id], node_id))

    def wait_in_sync(self, topic: str, timeout: float = 60.0) -> None:
        """Wait until every partition of `topic` has all its replicas in sync again (after a
        node came back)."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions.values()
            if partitions and all(sorted(p.isrs) == sorted(p.replicas) for p in partitions):
                return
            time.sleep(0.3)
        raise InfrastructureUnavailable(f"the replicas of {topic} did not catch up within {timeout:.0f}s")

