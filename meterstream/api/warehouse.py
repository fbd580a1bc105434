"""Running the API's ClickHouse queries off the event loop (clickhouse-connect is synchronous)."""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client
from starlette.concurrency import run_in_threadpool

from meterstream.api.errors import UpstreamUnavailable
from meterstream.sinks.clickhouse.usage_queries import run_query


class Warehouse:
    def __init__(self, client: Client, database: str) -> None:
        self.client = client
        self.database = database

    async def rows(self, query: Any) -> list[dict[str, Any]]:
        try:
            return await run_in_threadpool(run_query, self.client, query)
        except Exception as error:  # noqa: BLE001 - any driver failure is "ClickHouse did not answer"
            raise UpstreamUnavailable(f"ClickHouse query {type(query).__name__} failed: {error}") from error
