"""ClickHouse schema, applied on start. Each step is idempotent and recorded once applied.

Two layouts, one list of versions:

- one server or the embedded engine (no cluster): the tables themselves, as listed in
  MIGRATIONS (their text never changes: a test holds it byte for byte);
- a server cluster (`METERSTREAM_CLICKHOUSE_CLUSTER`): every statement runs `ON CLUSTER`.
  Each table becomes `<name>_local`, a Replicated*MergeTree per shard (Keeper path by the
  `{shard}`, `{database}` and `{replica}` macros), and `<name>` itself is a `Distributed`
  table over it. So the sink inserts into, and every report query reads from, the same
  names as without a cluster; nothing outside this module picks a table by layout.

Exactness on a cluster rests on three things. Distributed places a row by
cityHash64(tenant_id, session_id): every copy of an event (same tenant, session and id)
lands on one shard, so `FINAL` there collapses it as on one server. Replicated tables
de-duplicate a retried insert block by default (`replicated_deduplication_window`, 10,000
blocks for 3,600 s on 26.x), with the sink's `insert_deduplication_token` as the block id;
`non_replicated_deduplication_window` is for non-replicated tables only and is not set.
The sink inserts with `distributed_foreground_insert=1` (writer.py), so an insert returns
only once every shard stored its rows, and a retried batch is split the same way again.
The materialized view that tracks the sink's progress runs on each shard's local table;
its Distributed table answers the highest stored offset over all shards.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

USAGE_EVENTS_COLUMNS = """    event_id UUID,
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
    source_offset UInt64"""
_USAGE_EVENTS_KEYS = "PARTITION BY toYYYYMM(occurred_at)\nORDER BY (tenant_id, session_id, event_id)"
_ADD_PRICED_POSITION = ("ADD COLUMN IF NOT EXISTS priced_partition UInt32,\n"
                        "    ADD COLUMN IF NOT EXISTS priced_offset UInt64")
_SINK_PROGRESS_COLUMNS = "priced_partition UInt32,\n    max_offset UInt64"
_SINK_PROGRESS_SELECT = "SELECT priced_partition, max(priced_offset) AS max_offset FROM {table} GROUP BY priced_partition"
_SCHEMA_MIGRATIONS_COLUMNS = "(version UInt32, applied_at DateTime DEFAULT now())"

# usage_events summed per UTC hour and everything a price depends on (pricing/groups.py): what
# re-pricing reads for a month stored as one merged part (reprice.py). A month of 1.7 M events
# is about 27,000 such rows. The prompt-size class is stored for each long-context threshold in
# REPRICE_PROJECTION_THRESHOLDS (the packaged catalog's; a catalog with another one re-prices by
# scanning until a migration adds it); resolution and price period are computed over these keys
# at query time, so neither the catalog's versions nor the engine's resolution names are frozen here.
REPRICE_PROJECTION = "reprice_groups"
REPRICE_PROJECTION_THRESHOLDS = (200_000,)
# Frozen with migration 10, like every migration's text.
REPRICE_PROJECTION_KEYS = (
    "tenant_id", "service", "model", "voice_tier", "billing_mode", "billing_unit", "resolution", "video_with_audio",
    "toStartOfHour(occurred_at)",
    *(f"input_tokens + tool_use_prompt_tokens > {threshold}" for threshold in REPRICE_PROJECTION_THRESHOLDS),
    "input_tokens + cached_audio_input_tokens < cached_input_tokens + audio_input_tokens",
)
REPRICE_PROJECTION_SUMS = (
    "input_tokens", "cached_input_tokens", "audio_input_tokens", "cached_audio_input_tokens", "output_tokens",
    "image_output_tokens", "thinking_tokens", "tool_use_prompt_tokens", "images", "video_seconds", "characters",
)
REPRICE_PROJECTION_SELECT = (
    f"SELECT {', '.join(REPRICE_PROJECTION_KEYS)}, count(), sum(cost), "
    f"{', '.join(f'sum({name})' for name in REPRICE_PROJECTION_SUMS)} GROUP BY {', '.join(REPRICE_PROJECTION_KEYS)}"
)

# ReplacingMergeTree keyed by event_id: a batch inserted twice (sink killed between insert
# and commit) collapses to one row; report queries use FINAL so they are exact before merges.
# non_replicated_deduplication_window lets a retried batch with the same
# insert_deduplication_token be dropped at insert time already.
MIGRATIONS: list[tuple[int, str]] = [
    (1, f"""
CREATE TABLE IF NOT EXISTS {{db}}.usage_events (
{USAGE_EVENTS_COLUMNS}
)
ENGINE = ReplacingMergeTree
{_USAGE_EVENTS_KEYS}
SETTINGS non_replicated_deduplication_window = 1000
"""),
    # Where each row came from in usage.priced, and the highest stored offset per partition
    # (filled by the same inserts): a restarted sink resumes after what ClickHouse already
    # holds, even when it died between the insert and the offset commit.
    (2, f"""
ALTER TABLE {{db}}.usage_events
    {_ADD_PRICED_POSITION}
"""),
    (3, f"""
CREATE TABLE IF NOT EXISTS {{db}}.sink_progress (
    {_SINK_PROGRESS_COLUMNS}
) ENGINE = ReplacingMergeTree(max_offset) ORDER BY priced_partition
"""),
    (4, f"""
CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.sink_progress_mv TO {{db}}.sink_progress AS
{_SINK_PROGRESS_SELECT.format(table="{db}.usage_events")}
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
    # The two token kinds the stream meters at their own rates but the table did not hold:
    # without them re-pricing billed cached audio as cached text and image output as text
    # output. Rows stored before this keep 0 (their split was never stored).
    (8, """
ALTER TABLE {db}.usage_events
    ADD COLUMN IF NOT EXISTS cached_audio_input_tokens UInt64,
    ADD COLUMN IF NOT EXISTS image_output_tokens UInt64
"""),
    # Re-pricing reads a month's usage summed per price group (REPRICE_PROJECTION below) instead
    # of scanning its rows. ClickHouse refuses a projection on a ReplacingMergeTree unless told
    # what a merge does to it: 'rebuild' recomputes it from the merged, de-duplicated rows, so a
    # merged part's projection counts each event once ('drop' would lose it at the first merge).
    (9, """
ALTER TABLE {db}.usage_events
    MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'
"""),
    (10, f"""
ALTER TABLE {{db}}.usage_events
    ADD PROJECTION IF NOT EXISTS {REPRICE_PROJECTION} ({REPRICE_PROJECTION_SELECT})
"""),
    # Parts stored before version 10 get the projection too. A mutation, run by the engine in the
    # background (it survives a restart): start-up does not wait for every part to be rewritten,
    # and until a part has it, re-pricing reads that part's rows (exact, only slower).
    (11, f"""
ALTER TABLE {{db}}.usage_events
    MATERIALIZE PROJECTION {REPRICE_PROJECTION}
"""),
]


def _replicated(engine: str, table: str, *args: str) -> str:
    """`engine` replicated per shard, at the Keeper path of `table` in this database."""
    keeper = [f"'/clickhouse/tables/{{shard}}/{{database}}/{table}'", "'{replica}'"]
    return f"Replicated{engine}({', '.join([*keeper, *args])})"


def cluster_migrations(db: str, cluster: str) -> list[tuple[int, list[str]]]:
    """MIGRATIONS for a server cluster: the same versions, each as its ON CLUSTER statements."""
    on = f"ON CLUSTER {cluster}"

    def distributed(table: str, sharding_key: str = "") -> str:
        key = f", {sharding_key}" if sharding_key else ""
        return (f"CREATE TABLE IF NOT EXISTS {db}.{table} {on} AS {db}.{table}_local\n"
                f"ENGINE = Distributed('{cluster}', '{db}', '{table}_local'{key})")

    return [
        (1, [
            f"CREATE TABLE IF NOT EXISTS {db}.usage_events_local {on} (\n{USAGE_EVENTS_COLUMNS}\n)\n"
            f"ENGINE = {_replicated('ReplacingMergeTree', 'usage_events')}\n{_USAGE_EVENTS_KEYS}",
            # A session's rows, and so every copy of an event, on one shard: FINAL stays exact.
            distributed("usage_events", "cityHash64(tenant_id, session_id)"),
        ]),
        (2, [f"ALTER TABLE {db}.{table} {on}\n    {_ADD_PRICED_POSITION}"
             for table in ("usage_events_local", "usage_events")]),
        (3, [
            f"CREATE TABLE IF NOT EXISTS {db}.sink_progress_local {on} (\n    {_SINK_PROGRESS_COLUMNS}\n) "
            f"ENGINE = {_replicated('ReplacingMergeTree', 'sink_progress', 'max_offset')} ORDER BY priced_partition",
            # Read only (the view fills the local tables): no sharding key needed.
            distributed("sink_progress"),
        ]),
        (4, [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sink_progress_mv {on} TO {db}.sink_progress_local AS\n"
            + _SINK_PROGRESS_SELECT.format(table=f"{db}.usage_events_local"),
        ]),
        (5, [_on_cluster(MIGRATIONS[4][1].format(db=db), f"{db}.{table}", on).strip()
             for table in ("usage_events_local", "usage_events")]),
        *[(version, [
            _replicated_table(MIGRATIONS[version - 1][1].format(db=db), db, table, on),
            # A tenant's statements on one shard, like its events.
            distributed(table, "cityHash64(tenant_id)"),
        ]) for version, table in ((6, "statements"), (7, "statement_closes"))],
        (8, [_on_cluster(MIGRATIONS[7][1].format(db=db), f"{db}.{table}", on).strip()
             for table in ("usage_events_local", "usage_events")]),
        # Projections live on the shards' tables; the Distributed table has no parts (and
        # re-pricing through it reads FINAL, reprice.py).
        *[(version, [_on_cluster(MIGRATIONS[version - 1][1].format(db=db), f"{db}.usage_events_local", on).strip()])
          for version in (9, 10, 11)],
    ]


def _on_cluster(sql: str, table: str, on: str) -> str:
    """`ALTER TABLE db.usage_events …` of a one-server migration, for `table` on the cluster."""
    _, _, rest = sql.strip().partition("\n")
    return f"ALTER TABLE {table} {on}\n{rest}"


def _replicated_table(sql: str, db: str, table: str, on: str) -> str:
    """A one-server `CREATE TABLE db.table (...) ENGINE = ReplacingMergeTree …` as its
    replicated `_local` table on the cluster."""
    sql = sql.strip().replace(f"CREATE TABLE IF NOT EXISTS {db}.{table} (",
                              f"CREATE TABLE IF NOT EXISTS {db}.{table}_local {on} (", 1)
    return sql.replace("ENGINE = ReplacingMergeTree", f"ENGINE = {_replicated('ReplacingMergeTree', table)}", 1)


def migration_statements(database: str, cluster: str = "") -> list[tuple[int, list[str]]]:
    """Each version with the statements that apply it, for one server or for `cluster`."""
    if cluster:
        return cluster_migrations(database, cluster)
    return [(version, [sql.format(db=database)]) for version, sql in MIGRATIONS]


def bootstrap_statements(database: str, cluster: str = "") -> list[str]:
    """The database and the table that records applied versions. On a cluster that table
    is one replica set over every node of every shard (no `{shard}` in its Keeper path), so
    a version applied from any node is known on all."""
    if not cluster:
        return [
            f"CREATE DATABASE IF NOT EXISTS {database}",
            f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
            f"{_SCHEMA_MIGRATIONS_COLUMNS} ENGINE = ReplacingMergeTree ORDER BY version",
        ]
    return [
        f"CREATE DATABASE IF NOT EXISTS {database} ON CLUSTER {cluster}",
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations ON CLUSTER {cluster} "
        f"{_SCHEMA_MIGRATIONS_COLUMNS} ENGINE = ReplicatedReplacingMergeTree("
        "'/clickhouse/tables/{database}/schema_migrations', '{shard}-{replica}') ORDER BY version",
    ]


def migrate(client: Client, database: str, cluster: str = "") -> list[int]:
    """Create the database and apply missing migrations; returns the versions applied now."""
    for sql in bootstrap_statements(database, cluster):
        client.command(sql)
    done = {row[0] for row in client.query(f"SELECT version FROM {database}.schema_migrations FINAL").result_rows}
    applied = []
    for version, statements in migration_statements(database, cluster):
        if version in done:
            continue
        for sql in statements:
            client.command(sql)
        client.insert(f"{database}.schema_migrations", [[version]], column_names=["version"])
        applied.append(version)
    return applied
