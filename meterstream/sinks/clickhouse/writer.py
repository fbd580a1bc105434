"""ClickHouseSink: inserts priced records into usage_events, idempotently per batch id."""

from __future__ import annotations

from collections.abc import Sequence

from clickhouse_connect.driver.client import Client

from meterstream.schemas import PricedUsage
from meterstream.sinks.base import Sink
from meterstream.sinks.clickhouse.migrations import migrate
from meterstream.sinks.clickhouse.rows import COLUMNS, to_row


class ClickHouseSink(Sink):
    def __init__(self, client: Client, database: str) -> None:
        self.client = client
        self.database = database
        self.table = f"{database}.usage_events"
        migrate(client, database)

    def write(self, records: Sequence[PricedUsage], batch_id: str) -> None:
        if not records:
            return
        self.client.insert(
            self.table,
            [to_row(record) for record in records],
            column_names=COLUMNS,
            # Same batch id -> same token -> ClickHouse drops a retried insert of it.
            settings={"insert_deduplication_token": batch_id},
        )
