"""The schema's DDL, exactly: one server / the embedded engine, and a server cluster.

No ClickHouse cluster runs here, so the cluster layout is tested as the statements it
sends, table-driven (input: cluster name or none; expected: every statement in order).
The embedded engine's statements must never change (existing folders would differ from
new ones): a digest freezes them byte for byte as they were before clusters existed.
"""

from __future__ import annotations

import hashlib

import pytest

from meterstream.sinks.clickhouse import ClickHouseSink
from meterstream.sinks.clickhouse.migrations import (
    MIGRATIONS,
    USAGE_EVENTS_COLUMNS,
    bootstrap_statements,
    migrate,
    migration_statements,
)
from tests.unit.sinks.test_sink_runner import record

# The column block is shared by both layouts; the digest below freezes it with the rest.
COLUMNS = USAGE_EVENTS_COLUMNS
# Re-pricing's projection, spelled out: sums of every stored quantity per hour and price group.
_KEYS = ("tenant_id, service, model, voice_tier, billing_mode, billing_unit, resolution, video_with_audio, "
         "toStartOfHour(occurred_at), input_tokens + tool_use_prompt_tokens > 200000, "
         "input_tokens + cached_audio_input_tokens < cached_input_tokens + audio_input_tokens")
PROJECTION = (f"SELECT {_KEYS}, count(), sum(cost), sum(input_tokens), sum(cached_input_tokens), "
              "sum(audio_input_tokens), sum(cached_audio_input_tokens), sum(output_tokens), sum(image_output_tokens), "
              "sum(thinking_tokens), sum(tool_use_prompt_tokens), sum(images), sum(video_seconds), sum(characters) "
              f"GROUP BY {_KEYS}")

ONE_SERVER = [
    "CREATE DATABASE IF NOT EXISTS ms",
    "CREATE TABLE IF NOT EXISTS ms.schema_migrations (version UInt32, applied_at DateTime DEFAULT now()) "
    "ENGINE = ReplacingMergeTree ORDER BY version",
    # 1
    f"\nCREATE TABLE IF NOT EXISTS ms.usage_events (\n{COLUMNS}\n)\nENGINE = ReplacingMergeTree\n"
    "PARTITION BY toYYYYMM(occurred_at)\nORDER BY (tenant_id, session_id, event_id)\n"
    "SETTINGS non_replicated_deduplication_window = 1000\n",
    # 2
    "\nALTER TABLE ms.usage_events\n    ADD COLUMN IF NOT EXISTS priced_partition UInt32,\n"
    "    ADD COLUMN IF NOT EXISTS priced_offset UInt64\n",
    # 3
    "\nCREATE TABLE IF NOT EXISTS ms.sink_progress (\n    priced_partition UInt32,\n    max_offset UInt64\n"
    ") ENGINE = ReplacingMergeTree(max_offset) ORDER BY priced_partition\n",
    # 4
    "\nCREATE MATERIALIZED VIEW IF NOT EXISTS ms.sink_progress_mv TO ms.sink_progress AS\n"
    "SELECT priced_partition, max(priced_offset) AS max_offset FROM ms.usage_events GROUP BY priced_partition\n",
    # 5
    "\nALTER TABLE ms.usage_events\n    ADD COLUMN IF NOT EXISTS line_quantities Map(String, Decimal(38, 12)),\n"
    "    ADD COLUMN IF NOT EXISTS line_unit_prices Map(String, String),\n"
    "    ADD COLUMN IF NOT EXISTS tenant_pricing LowCardinality(String)\n",
    # 6
    "\nCREATE TABLE IF NOT EXISTS ms.statements (\n    tenant_id String,\n    attribute String,\n    month String,\n"
    "    value String,\n    closed_at DateTime64(6, 'UTC'),\n    statement_id String,\n    content String,\n"
    "    content_hash String\n) ENGINE = ReplacingMergeTree ORDER BY (tenant_id, attribute, month, value, closed_at)\n",
    # 7
    "\nCREATE TABLE IF NOT EXISTS ms.statement_closes (\n    tenant_id String,\n    attribute String,\n"
    "    month String,\n    closed_at DateTime64(6, 'UTC'),\n    statements UInt32\n"
    ") ENGINE = ReplacingMergeTree ORDER BY (tenant_id, attribute, month)\n",
    "\nALTER TABLE ms.usage_events\n    ADD COLUMN IF NOT EXISTS cached_audio_input_tokens UInt64,\n"
    "    ADD COLUMN IF NOT EXISTS image_output_tokens UInt64\n",
    # 9-11: re-pricing's projection, allowed on a ReplacingMergeTree once merges rebuild it
    "\nALTER TABLE ms.usage_events\n    MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'\n",
    f"\nALTER TABLE ms.usage_events\n    ADD PROJECTION IF NOT EXISTS reprice_groups ({PROJECTION})\n",
    "\nALTER TABLE ms.usage_events\n    MATERIALIZE PROJECTION reprice_groups\n",
]

ON_CLUSTER = [
    "CREATE DATABASE IF NOT EXISTS ms ON CLUSTER metering",
    "CREATE TABLE IF NOT EXISTS ms.schema_migrations ON CLUSTER metering (version UInt32, applied_at DateTime "
    "DEFAULT now()) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/schema_migrations', "
    "'{shard}-{replica}') ORDER BY version",
    # 1: the replicated table on every shard, then the Distributed table under the usual name
    f"CREATE TABLE IF NOT EXISTS ms.usage_events_local ON CLUSTER metering (\n{COLUMNS}\n)\n"
    "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/usage_events', '{replica}')\n"
    "PARTITION BY toYYYYMM(occurred_at)\nORDER BY (tenant_id, session_id, event_id)",
    "CREATE TABLE IF NOT EXISTS ms.usage_events ON CLUSTER metering AS ms.usage_events_local\n"
    "ENGINE = Distributed('metering', 'ms', 'usage_events_local', cityHash64(tenant_id, session_id))",
    # 2: both tables gain the columns
    "ALTER TABLE ms.usage_events_local ON CLUSTER metering\n    ADD COLUMN IF NOT EXISTS priced_partition UInt32,\n"
    "    ADD COLUMN IF NOT EXISTS priced_offset UInt64",
    "ALTER TABLE ms.usage_events ON CLUSTER metering\n    ADD COLUMN IF NOT EXISTS priced_partition UInt32,\n"
    "    ADD COLUMN IF NOT EXISTS priced_offset UInt64",
    # 3: the view's target, replicated, and its Distributed table for the sink's reads
    "CREATE TABLE IF NOT EXISTS ms.sink_progress_local ON CLUSTER metering (\n    priced_partition UInt32,\n"
    "    max_offset UInt64\n) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/"
    "sink_progress', '{replica}', max_offset) ORDER BY priced_partition",
    "CREATE TABLE IF NOT EXISTS ms.sink_progress ON CLUSTER metering AS ms.sink_progress_local\n"
    "ENGINE = Distributed('metering', 'ms', 'sink_progress_local')",
    # 4: the view reads each shard's own inserts
    "CREATE MATERIALIZED VIEW IF NOT EXISTS ms.sink_progress_mv ON CLUSTER metering TO ms.sink_progress_local AS\n"
    "SELECT priced_partition, max(priced_offset) AS max_offset FROM ms.usage_events_local GROUP BY priced_partition",
    # 5: both tables gain the columns
    *[f"ALTER TABLE ms.{table} ON CLUSTER metering\n"
      "    ADD COLUMN IF NOT EXISTS line_quantities Map(String, Decimal(38, 12)),\n"
      "    ADD COLUMN IF NOT EXISTS line_unit_prices Map(String, String),\n"
      "    ADD COLUMN IF NOT EXISTS tenant_pricing LowCardinality(String)" for table in ("usage_events_local", "usage_events")],
    # 6, 7: closed statements, replicated, a tenant's on one shard
    "CREATE TABLE IF NOT EXISTS ms.statements_local ON CLUSTER metering (\n    tenant_id String,\n    attribute String,\n"
    "    month String,\n    value String,\n    closed_at DateTime64(6, 'UTC'),\n    statement_id String,\n"
    "    content String,\n    content_hash String\n) ENGINE = ReplicatedReplacingMergeTree("
    "'/clickhouse/tables/{shard}/{database}/statements', '{replica}') ORDER BY (tenant_id, attribute, month, value, "
    "closed_at)",
    "CREATE TABLE IF NOT EXISTS ms.statements ON CLUSTER metering AS ms.statements_local\n"
    "ENGINE = Distributed('metering', 'ms', 'statements_local', cityHash64(tenant_id))",
    "CREATE TABLE IF NOT EXISTS ms.statement_closes_local ON CLUSTER metering (\n    tenant_id String,\n"
    "    attribute String,\n    month String,\n    closed_at DateTime64(6, 'UTC'),\n    statements UInt32\n"
    ") ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/statement_closes', '{replica}') "
    "ORDER BY (tenant_id, attribute, month)",
    "CREATE TABLE IF NOT EXISTS ms.statement_closes ON CLUSTER metering AS ms.statement_closes_local\n"
    "ENGINE = Distributed('metering', 'ms', 'statement_closes_local', cityHash64(tenant_id))",
    *[f"ALTER TABLE ms.{table} ON CLUSTER metering\n"
      "    ADD COLUMN IF NOT EXISTS cached_audio_input_tokens UInt64,\n"
      "    ADD COLUMN IF NOT EXISTS image_output_tokens UInt64" for table in ("usage_events_local", "usage_events")],
    # 9-11: the projection on the shards' tables only (a Distributed table has no parts)
    "ALTER TABLE ms.usage_events_local ON CLUSTER metering\n"
    "    MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'",
    f"ALTER TABLE ms.usage_events_local ON CLUSTER metering\n    ADD PROJECTION IF NOT EXISTS reprice_groups ({PROJECTION})",
    "ALTER TABLE ms.usage_events_local ON CLUSTER metering\n    MATERIALIZE PROJECTION reprice_groups",
]


def statements(database: str, cluster: str) -> list[str]:
    return bootstrap_statements(database, cluster) + [
        sql for _, batch in migration_statements(database, cluster) for sql in batch
    ]


@pytest.mark.parametrize(("cluster", "expected"), [
    pytest.param("", ONE_SERVER, id="no cluster"),
    pytest.param("metering", ON_CLUSTER, id="cluster"),
])
def test_the_schema_is_exactly(cluster: str, expected: list[str]):
    assert statements("ms", cluster) == expected


def test_both_layouts_have_the_same_versions():
    assert [v for v, _ in migration_statements("ms", "metering")] == [v for v, _ in MIGRATIONS] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]


def test_the_embedded_ddl_is_unchanged_byte_for_byte():
    # sha256 of the statements of versions 1-4 (NUL-separated) for database `meterstream`,
    # taken from the code before cluster support. A change here means an edited migration:
    # add one instead.
    frozen = bootstrap_statements("meterstream", "") + [
        sql for version, batch in migration_statements("meterstream", "") if version <= 4 for sql in batch]
    digest = hashlib.sha256("\x00".join(frozen).encode()).hexdigest()
    assert digest == "62850dc46e6d440237e1077b230093e4e13e76d2d0ba4a6acc6d2e0a20a49554"


class RecordingClient:
    """Stands in for clickhouse-connect: records what migrate sends."""

    def __init__(self, applied: list[int]) -> None:
        self.applied, self.sent, self.inserted = applied, [], []

    def command(self, sql: str) -> None:
        self.sent.append(sql)

    def query(self, sql: str):
        self.sent.append(sql)
        return type("Result", (), {"result_rows": [(v,) for v in self.applied]})()

    def insert(self, table: str, data, column_names, **options) -> None:
        self.inserted.append((table, options.get("settings") or data[0][0]))


@pytest.mark.parametrize("cluster", ["", "metering"])
def test_migrate_sends_only_the_missing_versions(cluster: str):
    client = RecordingClient(applied=[1, 2])
    assert migrate(client, "ms", cluster) == [3, 4, 5, 6, 7, 8, 9, 10, 11]  # type: ignore[arg-type]
    missing = [sql for v, batch in migration_statements("ms", cluster) if v > 2 for sql in batch]
    assert client.sent == [*bootstrap_statements("ms", cluster), "SELECT version FROM ms.schema_migrations FINAL",
                           *missing]
    assert client.inserted == [("ms.schema_migrations", version) for version in range(3, 12)]


@pytest.mark.parametrize(("cluster", "settings"), [
    pytest.param("", {"insert_deduplication_token": "t:0:5-9"}, id="no cluster"),
    # Into the Distributed table, returning only once every shard stored its rows.
    pytest.param("metering", {"insert_deduplication_token": "t:0:5-9", "distributed_foreground_insert": 1},
                 id="cluster"),
])
def test_the_sink_inserts_with_its_batch_token(cluster: str, settings: dict):
    client = RecordingClient(applied=[v for v, _ in MIGRATIONS])
    ClickHouseSink(client, "ms", cluster).write([record("s", 5)], "t:0:5-9")  # type: ignore[arg-type]
    assert client.inserted == [("ms.usage_events", settings)]
