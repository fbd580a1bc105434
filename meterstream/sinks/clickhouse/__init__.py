"""The ClickHouse sink: schema migrations, the writer and report queries."""

from meterstream.sinks.clickhouse.client import connect
from meterstream.sinks.clickhouse.migrations import migrate
from meterstream.sinks.clickhouse.reports import CostReport, ReportResult, run_report
from meterstream.sinks.clickhouse.writer import ClickHouseSink

__all__ = ["ClickHouseSink", "CostReport", "ReportResult", "connect", "migrate", "run_report"]
