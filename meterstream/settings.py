"""One settings object for every component; environment variables prefixed METERSTREAM_."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METERSTREAM_", extra="ignore")

    # Where local state lives: the broker's log, the worker's RocksDB tables and the
    # embedded ClickHouse folder all default to folders below it.
    data_dir: Path = Path(".meterstream")

    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_events: str = "usage.events"
    topic_priced: str = "usage.priced"
    topic_dlq: str = "usage.dlq"
    # UsageEmitter: how long emitted events wait to share a message (a batch envelope per
    # destination partition, schemas/envelope.py) with the events emitted after them; 0: one
    # message per event, sent at once.
    emit_linger_ms: float = Field(default=5.0, ge=0)
    # Internal: usage.events forwarded to each session's home partition (stream/routing.py).
    # Its partition count (topic_partitions when created) is the most workers that share the load.
    topic_routed: str = "usage.routed"
    # Budgets: every budget decision of a tenant (definitions, spend, reservations) goes
    # through one partition of this topic, keyed by tenant, and is decided by its owner.
    topic_budget_commands: str = "usage.budget-commands"
    topic_budget_replies: str = "usage.budget-replies"
    topic_alerts: str = "usage.alerts"
    # State every API host shares, as compacted topics read whole by each process
    # (meterstream/state): API keys, sessions, webhook definitions. Never change their
    # partition count: related records are placed by it (state/views.py).
    topic_api_keys: str = "usage.api-keys"
    topic_sessions: str = "usage.sessions"
    topic_webhooks: str = "usage.webhooks"
    # How long a write to those topics, or catching up with them, may wait for Kafka (seconds).
    state_timeout_seconds: float = Field(default=10.0, gt=0)
    topic_partitions: int = Field(default=4, ge=1)
    # Copies of every topic the pipeline creates (the worker's changelogs too), and how many
    # must have a write before an acks=all producer is told it succeeded. On a three-broker
    # cluster 3 and 2: an acknowledged event survives the loss of any one broker.
    topic_replication_factor: int = Field(default=1, ge=1)
    topic_min_insync_replicas: int = Field(default=1, ge=1)

    # How soon the group notices a consumer (worker or sink) died and hands its partitions on.
    consumer_session_timeout: float = Field(default=10.0, ge=3.0)

    # The worker (Faust) side.
    app_id: str = "meterstream"
    store: str = "rocksdb://"
    # Where the worker's HTTP endpoints (/sessions, /ledger, /budgets, /metrics) listen, and where
    # the API and CLI reach them. Loopback by default: they show every tenant's totals. Bound
    # anywhere else the worker refuses to start without worker_token, which every request must
    # then carry (`Authorization: Bearer <token>`; the API, CLI and other workers send it).
    worker_host: str = "127.0.0.1"
    worker_port: int = 6066
    worker_token: SecretStr | None = None
    # A re-sent event_id is recognised this long after it was first seen, then forgotten
    # (fractions are for tests and benchmarks: 1 / 86_400 is a second).
    dedup_window_days: float = Field(default=7, gt=0)
    # The worker deletes at most this many expired ids per batch (and reads as many stored
    # ids per partition to index them after a restart or rebalance): twice a full batch, so
    # expiry keeps up with a catch-up without making any one batch slow.
    dedup_expire_per_batch: int = Field(default=8000, ge=1)
    # The worker meters events in batches of up to about this many, waiting at most this long
    # for a batch to fill: its table writes are merged per batch (stream/batch.py). A batch is
    # metered in one go, so it also bounds how long the worker's event loop (heartbeats, HTTP
    # views) waits on it: 4,000 events is about 0.2 s here.
    worker_batch_size: int = Field(default=4000, ge=1)
    worker_batch_seconds: float = Field(default=0.02, gt=0)
    # Off: the worker reports no spend to budgets and decides no reservations (benchmarks).
    budgets_enabled: bool = True
    # The budget owner, a process `meterstream worker` starts beside itself: its HTTP port
    # (0: a free one; the worker forwards /budgets to it).
    budget_owner_port: int = Field(default=0, ge=0, le=65535)
    # A tenant with this many unsettled reservations gets no more until some are settled.
    max_open_reservations: int = Field(default=10_000, ge=1, le=50_000)
    # An unsettled reservation's hold is released after this long (seconds).
    reservation_ttl_seconds: int = Field(default=900, ge=1, le=7 * 86_400)
    # How long the API and CLI wait for the budget owner to answer.
    budget_reply_timeout_seconds: float = Field(default=5.0, gt=0)
    # How answers come back (budgets/replies.py): "direct" to a port each client listens on,
    # at this host's address below (one broker hop per reservation), or "kafka" through the
    # replies topic, for clients that budget owners cannot connect to.
    budget_replies: Literal["direct", "kafka"] = "direct"
    budget_reply_host: str = "127.0.0.1"

    # The ClickHouse sink. Empty DSN means the embedded engine under data_dir.
    clickhouse_dsn: str = ""
    clickhouse_database: str = "meterstream"
    # A ClickHouse server cluster (a name from its remote_servers): migrations then create
    # replicated tables ON CLUSTER, with Distributed tables under the usual names for the
    # sink's inserts and every query. Empty: one server or the embedded engine.
    clickhouse_cluster: str = ""
    sink_group: str = "meterstream-sink"
    sink_batch_size: int = Field(default=5000, ge=1)
    sink_batch_seconds: float = Field(default=1.0, gt=0)
    sink_metrics_port: int = Field(default=0, ge=0, description="Prometheus port of `meterstream sink`; 0 = off")

    # The local broker that `meterstream kafka start` runs (devstack).
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap: str = "512m"
    # `meterstream kafka start --brokers N` (N > 1): each node's heap.
    kafka_cluster_heap: str = "384m"
    kafka_cache_dir: Path = Path.home() / ".cache" / "meterstream" / "kafka"

    # The tenant of usage recorded through the original tracker's call (meterstream.compat)
    # when the call names none: that tracker knew no tenants.
    compat_tenant_id: str = "default"

    catalog: Literal["default", "demo"] = "default"
    # Per-tenant discounts, custom prices and unknown-model policies (TOML, see pricing/tenants.py).
    tenant_pricing_file: Path | None = None

    @field_validator("data_dir", "kafka_cache_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("clickhouse_cluster")
    @classmethod
    def _cluster_name(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"not a ClickHouse cluster name: {value!r}")
        return value

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> Settings:
        if self.topic_min_insync_replicas > self.topic_replication_factor:
            raise ValueError(
                f"METERSTREAM_TOPIC_MIN_INSYNC_REPLICAS ({self.topic_min_insync_replicas}) is above "
                f"METERSTREAM_TOPIC_REPLICATION_FACTOR ({self.topic_replication_factor}): every acks=all "
                "write would be refused"
            )
        return self

    @property
    def clickhouse_url(self) -> str:
        return self.clickhouse_dsn or f"chdb://{self.data_dir / 'clickhouse'}"

    @property
    def worker_url(self) -> str:
        return f"http://{self.worker_host}:{self.worker_port}"

    def worker_headers(self) -> dict[str, str]:
        """What a request to the worker's HTTP endpoints carries."""
        token = self.worker_token.get_secret_value() if self.worker_token else ""
        return {"Authorization": f"Bearer {token}"} if token else {}

    def kafka_producer_config(self) -> dict[str, object]:
        """librdkafka settings shared by every producer the package creates."""
        return {
            "bootstrap.servers": self.kafka_bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "compression.type": "lz4",
            # The Java client and Faust place keys with murmur2; using it here keeps a
            # session on the partition where the worker's table expects it.
            "partitioner": "murmur2_random",
        }


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_env(settings: Settings) -> dict[str, str]:
    """The METERSTREAM_* variables that recreate `settings` in a child process."""
    return {
        f"METERSTREAM_{name.upper()}": value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        for name, value in settings.model_dump().items()
        if value is not None
    }
