"""ClickHouse schema, applied on start. Each step is idempotent and recorded once applied."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

# ReplacingMergeTree keyed by event_id: a batch inserted twice (sink killed between insert
# and commit) collapses to one row; report queries use FINAL so they are exact before merges.
# non_replicated_deduplication_window lets a retried batch with the same
# insert_deduplication_token be dropped at insert time already.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE IF NOT EXISTS {db}.usage_events (
    event_id UUID,
    occurred_at DateTime64(6, 'UTC'),
    stored_at DateTime64(6, 'UTC') DEFAULT now64(6),
    tenant_id LowCardinality(String),
    session_id String,
    user_id String,
    service LowCardinality(String),
    operation LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    billing_unit LowCardinality(String),
    billing_mode LowCardinality(String),
    input_tokens UInt64,
    output_tokens UInt64,
    cached_input_tokens UInt64,
    thinking_tokens UInt64,
    audio_input_tokens UInt64,
    tool_use_prompt_tokens UInt64,
    images UInt64,
    video_seconds Decimal64(6),
    video_with_audio Bool,
    resolution LowCardinality(String),
    characters UInt64,
    voice_tier LowCardinality(String),
    cost Decimal128(12),
    cost_lines Map(String, Decimal128(12)),
    currency LowCardinality(String),
    catalog_version LowCardinality(String),
    pricing_status LowCardinality(String),
    unpriced_reason String,
    attributes Map(String, String),
    source_partition UInt32,
    source_offset UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, session_id, event_id)
SETTINGS non_replicated_deduplication_window = 1000
"""),
    # Where each row came from in usage.priced, and the highest stored offset per partition
    # (filled by the same inserts): a restarted sink resumes after what ClickHouse already
    # holds, even when it died between the insert and the offset commit.
    (2, """
ALTER TABLE {db}.usage_events
    ADD COLUMN IF NOT EXISTS priced_partition UInt32,
    ADD COLUMN IF NOT EXISTS priced_offset UInt64
"""),
    (3, """
CREATE TABLE IF NOT EXISTS {db}.sink_progress (
    priced_partition UInt32,
    max_offset UInt64
) ENGINE = ReplacingMergeTree(max_offset) ORDER BY priced_partition
"""),
    (4, """
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sink_progress_mv TO {db}.sink_progress AS
SELECT priced_partition, max(priced_offset) AS max_offset FROM {db}.usage_events GROUP BY priced_partition
"""),
    # What a statement's line items need from each event: the quantity and unit price of every
    # cost line as the engine billed it (cost_lines has only the amounts), and which version of
    # the tenant's own pricing applied. Rows stored before this have empty maps and ''.
    (5, """
ALTER TABLE {db}.usage_events
    ADD COLUMN IF NOT EXISTS line_quantities Map(String, Decimal(38, 12)),
    ADD COLUMN IF NOT EXISTS line_unit_prices Map(String, String),
    ADD COLUMN IF NOT EXISTS tenant_pricing LowCardinality(String)
"""),
    # Closed statements (meterstream/statements/store.py). A close of (tenant, attribute, month)
    # writes one row per statement, then its marker in statement_closes: the marker is the
    # commit point, and readers take only the statement rows whose closed_at equals the
    # marker's, so the rows of an attempt that died before its marker are never read.
    (6, """
CREATE TABLE IF NOT EXISTS {db}.statements (
    tenant_id String,
    attribute String,
    month String,
    value String,
    closed_at DateTime64(6, 'UTC'),
    statement_id String,
    content String,
    content_hash String
) ENGINE = ReplacingMergeTree ORDER BY (tenant_id, attribute, month, value, closed_at)
"""),
    (7, """
CREATE TABLE IF NOT EXISTS {db}.statement_closes (
    tenant_id String,
    attribute String,
    month String,
    closed_at DateTime64(6, 'UTC'),
    statements UInt32
) ENGINE = ReplacingMergeTree ORDER BY (tenant_id, attribute, month)
"""),
]


def migrate(client: Client, database: str) -> list[int]:
    """Create the database and apply missing migrations; returns the versions applied now."""
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
        "(version UInt32, applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = {row[0] for row in client.query(f"SELECT version FROM {database}.schema_migrations FINAL").result_rows}
    applied = []
    for version, sql in MIGRATIONS:
        if version in done:
            continue
        client.command(sql.format(db=database))
        client.insert(f"{database}.schema_migrations", [[version]], column_names=["version"])
        applied.append(version)
    return applied
