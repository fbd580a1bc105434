"""The real Apache Kafka broker (KRaft, on loopback), run from Maven Central jars.

`KafkaBroker` is one node: alone, it is its own controller quorum; in a `KafkaCluster`
(kafka_cluster.py) it is one voter of a quorum of several, formatted with the cluster's id.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from meterstream.errors import InfrastructureUnavailable

log = logging.getLogger(__name__)

_KAFKA_FILES = resources.files("meterstream.devstack").joinpath("kafka")

_SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id={node_id}
controller.quorum.voters={voters}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={log_dir}
num.partitions={partitions}
offsets.topic.replication.factor={replication}
offsets.topic.num.partitions=4
transaction.state.log.replication.factor={replication}
transaction.state.log.min.isr={min_isr}
share.coordinator.state.topic.replication.factor={replication}
share.coordinator.state.topic.min.isr={min_isr}
default.replication.factor={replication}
min.insync.replicas={min_isr}
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
"""


@functools.cache
def low_pause_gc(java: str) -> tuple[str, ...]:
    """Shenandoah where this JVM has it (most OpenJDK builds), else G1 with a pause goal.

    Measured at 1,000 budget reservations/s on two cores (BENCHMARKS.md, scenario 8): G1's
    young pauses took 10-125 ms each, about once a second, and every command in flight
    waited; Shenandoah's stayed under 2 ms. The caller also has the heap touched at start
    (AlwaysPreTouch): while a fresh heap's pages were first touched during the run, even an
    idle process at the highest priority saw 50-136 ms stalls on that virtual machine; with
    the heap touched at start it saw none over 16 ms.
    """
    probe = subprocess.run([java, "-XX:+UseShenandoahGC", "-version"], capture_output=True)
    return ("-XX:+UseShenandoahGC",) if probe.returncode == 0 else ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20")


def require_tool(name: str, purpose: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise InfrastructureUnavailable(f"'{name}' is not on PATH; it is needed to {purpose}. Install it and retry.")
    return path


def resolve_broker_jars(cache_dir: Path) -> Path:
    """Resolve the broker's jars with Maven into a cache folder keyed by the pom's content."""
    pom = _KAFKA_FILES.joinpath("pom.xml").read_bytes()
    lib = cache_dir / hashlib.sha256(pom).hexdigest()[:16] / "lib"
    if (lib / ".complete").exists():
        return lib
    mvn = require_tool("mvn", "resolve the Kafka broker jars from Maven Central")
    lib.parent.mkdir(parents=True, exist_ok=True)
    with open(lib.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs resolve once
        if not (lib / ".complete").exists():
            (lib.parent / "pom.xml").write_bytes(pom)
            log.info("resolving Kafka broker jars into %s", lib)
            result = subprocess.run(
                [mvn, "-q", "-B", "-f", str(lib.parent / "pom.xml"), "dependency:copy-dependencies",
                 f"-DoutputDirectory={lib}"],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise InfrastructureUnavailable(f"mvn could not resolve the Kafka jars:\n{result.stdout}{result.stderr}")
            (lib / ".complete").touch()
    return lib


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class KafkaBroker:
    """One broker+controller node whose files all live under `data_dir`: a single-node
    cluster by default; one voter of `quorum_voters`, formatted with `cluster_id`, in a cluster."""

    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    cache_dir: Path = Path.home() / ".cache" / "meterstream" / "kafka"
    heap: str = "512m"
    partitions: int = 4
    node_id: int = 1
    # `id@host:port,...` of every controller; empty: this node alone.
    quorum_voters: str = ""
    # Shared by every node of a cluster; None: a new one when the storage is first formatted.
    cluster_id: str | None = None
    # Replication factor of the broker's own topics (consumer offsets, transaction state) and
    # of topics it creates itself; their min.insync.replicas is one less (at least 1).
    internal_replication: int = 1

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def pid(self) -> int | None:
        """The broker's pid if this data folder's broker is running."""
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid

    def start(self, timeout: float = 90.0) -> None:
        """Format storage (once), start the broker and wait until it serves metadata."""
        process = self.launch()
        try:
            self.wait_ready(timeout, process)
        except InfrastructureUnavailable:
            if process is not None:
                self.stop()
            raise

    def launch(self) -> subprocess.Popen | None:
        """Format storage (once) and start the broker process without waiting for it;
        None if this data folder's broker is already running."""
        if self.pid() is not None:
            log.info("broker already running (pid %s)", self.pid())
            return None
        for port in (self.port, self.controller_port):
            if port_is_open(port):
                raise InfrastructureUnavailable(
                    f"port {port} is taken by another process; set METERSTREAM_KAFKA_PORT / _CONTROLLER_PORT"
                )
        java = require_tool("java", "run the Kafka broker (Java 17+)")
        lib = resolve_broker_jars(self.cache_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        properties = self.data_dir / "server.properties"
        properties.write_text(_SERVER_PROPERTIES.format(
            port=self.port, controller_port=self.controller_port, log_dir=self.data_dir / "logs",
            partitions=self.partitions, node_id=self.node_id,
            voters=self.quorum_voters or f"{self.node_id}@127.0.0.1:{self.controller_port}",
            replication=self.internal_replication, min_isr=max(1, self.internal_replication - 1),
        ))
        classpath = f"{lib}/*"
        if not (self.data_dir / "logs" / "meta.properties").exists():
            cluster_id = self.cluster_id or new_cluster_id(java, classpath)
            subprocess.run(
                [java, "-Xmx256m", "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                 "-c", str(properties), "-g"],
                capture_output=True, text=True, check=True,
            )
        log4j = _KAFKA_FILES.joinpath("log4j2.yaml")
        with open(self.log_file, "ab") as out:
            process = subprocess.Popen(
                [java, f"-Xmx{self.heap}", f"-Xms{self.heap}", *low_pause_gc(java), "-XX:+AlwaysPreTouch",
                 "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={log4j}",
                 f"-Dkafka.logs.dir={self.data_dir}", "-cp", classpath, "kafka.Kafka", str(properties)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        return process

    def wait_ready(self, timeout: float, process: subprocess.Popen | None = None) -> None:
        def check_alive() -> None:
            if process is not None and process.poll() is not None:
                raise InfrastructureUnavailable(
                    f"the Kafka broker exited with code {process.returncode}; see {self.log_file}:\n{self._log_tail()}"
                )

        if wait_for_brokers(self.bootstrap, bool, timeout, check_alive) is None:
            return
        raise InfrastructureUnavailable(
            f"the Kafka broker did not become ready on {self.bootstrap} within {timeout:.0f}s; "
            f"see {self.log_file}:\n{self._log_tail()}"
        )

    def kill(self) -> bool:
        """kill -9 the broker (no clean shutdown); False if it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def terminate(self) -> None:
        """Ask the broker to shut down (SIGTERM) without waiting for it."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker cleanly (SIGTERM, then SIGKILL); False if it was not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def wait_for_brokers(bootstrap: str, ready: Callable[[set[int]], bool], timeout: float,
                     check_alive: Callable[[], None]) -> set[int] | None:
    """Poll the metadata of `bootstrap` until `ready(the broker ids it lists)`, calling
    `check_alive` (which raises for a broker process that exited) on every round.
    None once ready; the ids seen last if `timeout` passed first."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while time.monotonic() < deadline:
        check_alive()
        try:
            seen = set(admin.list_topics(timeout=2).brokers)
            if ready(seen):
                return None
        except Exception:  # noqa: BLE001 - not ready yet; keep waiting
            pass
        time.sleep(0.3)
    return seen


def new_cluster_id(java: str, classpath: str) -> str:
    return subprocess.run(
        [java, "-Xmx256m", "-cp", classpath, "kafka.tools.StorageTool", "random-uuid"],
        capture_output=True, text=True, check=True,
    ).stdout.split()[-1]


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our child, so a zombie does not count as alive.
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
