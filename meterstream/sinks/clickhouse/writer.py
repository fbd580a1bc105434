"""ClickHouseSink: inserts priced records into usage_events, idempotently per batch id."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DataError

from meterstream.sinks.base import Sink, SinkRecord
from meterstream.sinks.clickhouse.migrations import migrate
from meterstream.sinks.clickhouse.rows import COLUMNS, TYPE_NAMES, to_columns


class ClickHouseSink(Sink):
    def __init__(self, client: Client, database: str, cluster: str = "") -> None:
        self.client = client
        self.database = database
        self.table = f"{database}.usage_events"
        # Same batch id -> same token -> ClickHouse drops a retried insert of it. On a
        # cluster usage_events is Distributed: a foreground insert returns once every shard
        # has its rows (each shard's replicated table de-duplicates its part by the token).
        self.insert_settings: dict[str, object] = {"distributed_foreground_insert": 1} if cluster else {}
        migrate(client, database, cluster)

    def write(self, records: Sequence[SinkRecord], batch_id: str) -> None:
        if not records:
            return
        self.client.insert(
            self.table,
            to_columns(records),
            column_names=COLUMNS,
            column_type_names=TYPE_NAMES,
            column_oriented=True,
            settings={"insert_deduplication_token": batch_id, **self.insert_settings},
        )

    def stored_offsets(self) -> dict[int, int]:
        result = self.client.query(
            f"SELECT priced_partition, max(max_offset) FROM {self.database}.sink_progress GROUP BY priced_partition"
        )
        return dict(result.result_rows)

    def already_stored(self, records: Sequence[SinkRecord]) -> set[UUID]:
        if not records:
            return set()
        events = [r.priced.event for r in records]
        result = self.client.query(
            f"SELECT event_id FROM {self.table} WHERE tenant_id IN {{tenants:Array(String)}} "
            "AND session_id IN {sessions:Array(String)} AND event_id IN {ids:Array(UUID)}",
            parameters={
                "tenants": sorted({e.tenant_id for e in events}),
                "sessions": sorted({e.session_id for e in events}),
                "ids": [e.event_id for e in events],
            },
        )
        return {row[0] for row in result.result_rows}

    def is_retryable(self, error: Exception) -> bool:
        # A DataError is about the rows (a value ClickHouse cannot take); anything else, such
        # as a lost connection or a failing server, may pass on a retry.
        return super().is_retryable(error) and not isinstance(error, DataError)
