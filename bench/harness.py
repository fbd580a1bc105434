"""What every scenario shares: scales, the environment (broker, ClickHouse, fresh names), results."""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from meterstream.devstack import KafkaBroker, free_port, isolated_settings
from meterstream.settings import Settings


@dataclass(frozen=True)
class Scale:
    """How big each scenario runs. FULL is what BENCHMARKS.md reports; SMOKE keeps CI short."""

    name: str
    runs: int  # repetitions whose median is reported
    throughput_seconds: float  # the sustained window of scenario 1
    throughput_events: int  # events pre-loaded for scenario 1 (must outlast the window)
    floor_seconds: float  # window of each Faust-floor measurement in scenario 1
    sessions: int  # distinct sessions in the throughput and latency workloads
    latency_seconds: float  # offered-load duration per latency run
    latency_rates: tuple[int, ...]
    emit_events: int
    pricing_events: int
    sink_rows: int
    query_rows: int
    query_repeats: int
    memory_sessions: int
    budget_seconds: float  # timed seconds per reservation-latency run, per path and rate
    budget_rates: tuple[int, ...]  # offered reservation loads (requests/s)
    budget_throughput_seconds: float  # each window of the budgets on/off worker comparison
    budget_throughput_events: int  # pre-loaded for that comparison (must outlast the window)
    budget_tenants: int  # tenants in that workload, one budget each
    budget_backlog_events: int  # a metering catch-up that reservations are timed during
    budget_crossings: int  # threshold crossings timed per run (event -> alert)
    ingest_seconds: float  # timed seconds of each HTTP ingest phase (after a 1 s warm-up)
    seen_events: int  # events metered per de-duplication store run
    seen_window_seconds: float  # the short de-duplication window of that scenario


FULL = Scale(
    name="full", runs=3, throughput_seconds=60, throughput_events=1_600_000, floor_seconds=20, sessions=10_000,
    latency_seconds=20, latency_rates=(250, 1_000, 5_000), emit_events=50_000, pricing_events=20_000,
    sink_rows=100_000, query_rows=10_000_000, query_repeats=15, memory_sessions=1_000_000,
    budget_seconds=8, budget_rates=(100, 1_000), budget_throughput_seconds=20, budget_throughput_events=150_000,
    budget_tenants=20, budget_backlog_events=100_000, budget_crossings=200, ingest_seconds=10,
    seen_events=1_000_000, seen_window_seconds=30,
)
SMOKE = Scale(
    name="smoke", runs=1, throughput_seconds=2, throughput_events=3_000, floor_seconds=2, sessions=50,
    latency_seconds=1.5, latency_rates=(200,), emit_events=500, pricing_events=300,
    sink_rows=1_000, query_rows=20_000, query_repeats=2, memory_sessions=300,
    budget_seconds=1, budget_rates=(50,), budget_throughput_seconds=2, budget_throughput_events=2_000,
    budget_tenants=3, budget_backlog_events=500, budget_crossings=5, ingest_seconds=1.5,
    seen_events=3_000, seen_window_seconds=0.5,
)
SCALES = {scale.name: scale for scale in (FULL, SMOKE)}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; values need not be sorted."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Result:
    """One line of BENCHMARKS.md: a metric's runs, its baseline's runs and the target."""

    scenario: str
    metric: str
    unit: str
    runs: list[float]
    baseline: str
    baseline_runs: list[float] = field(default_factory=list)
    target: str = ""
    met: bool | None = None  # None: no target, or not applicable at this scale
    note: str = ""

    @property
    def value(self) -> float:
        return median(self.runs)

    @property
    def baseline_value(self) -> float | None:
        return median(self.baseline_runs) if self.baseline_runs else None

    @property
    def ratio(self) -> float | None:
        base = self.baseline_value
        return None if not base else self.value / base


@dataclass
class BenchEnv:
    """A Kafka bootstrap, a ClickHouse DSN and a scratch folder; hands out fresh names per run."""

    bootstrap: str
    clickhouse_dsn: str
    workdir: Path
    scale: Scale
    kafka_heap: str = "1g"
    broker: KafkaBroker | None = None

    def settings(self, label: str, **overrides: object) -> Settings:
        """Settings with topics, groups, database, data folder and worker port of their own."""
        run = f"bench_{label}_{uuid.uuid4().hex[:8]}"
        return isolated_settings(run, self.bootstrap, self.clickhouse_dsn, self.workdir / run, **overrides)

    @classmethod
    @contextmanager
    def local(cls, scale: Scale, workdir: Path | None = None) -> Iterator[BenchEnv]:
        """A broker of its own on free ports and an embedded ClickHouse folder, removed after."""
        with tempfile.TemporaryDirectory(prefix="meterstream-bench-", dir=workdir) as scratch:
            root = Path(scratch)
            broker = KafkaBroker(data_dir=root / "kafka", port=free_port(), controller_port=free_port(), heap="1g")
            broker.start()
            try:
                yield cls(broker.bootstrap, f"chdb://{root / 'clickhouse'}", root, scale, broker=broker)
            finally:
                broker.stop()


def wait_for(condition, timeout: float, what: str, interval: float = 0.05) -> float:
    """Poll until condition() is true; returns the time it took. Raises TimeoutError naming `what`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - start


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def machine() -> dict[str, str]:
    mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    versions = {}
    for dist in ("faust-streaming", "aiokafka", "confluent-kafka", "clickhouse-connect", "chdb", "pydantic", "orjson"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "absent"
    import confluent_kafka

    pom = (Path(__file__).resolve().parent.parent / "meterstream" / "devstack" / "kafka" / "pom.xml").read_text()
    kafka = pom.split("<artifactId>kafka_2.13</artifactId><version>", 1)[-1].split("<", 1)[0]
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{int(mem.split()[1]) / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "load average (1 min) at the end": f"{os.getloadavg()[0]:.1f}",
        "Kafka broker": kafka,
        "librdkafka": confluent_kafka.libversion()[0],
        **versions,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its running children have used so far (the
    worker's budget owner is its child)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()]
    return own + sum(cpu_seconds(child) for child in children)
