"""Settings for one isolated run on a shared broker and ClickHouse (tests, benchmarks)."""

from __future__ import annotations

from pathlib import Path

from meterstream.devstack.kafka_broker import free_port
from meterstream.settings import Settings


def isolated_settings(run: str, bootstrap: str, clickhouse_dsn: str, data_dir: Path, **overrides: object) -> Settings:
    """Settings whose topics, consumer groups, database, data folder and worker port are the
    run's own, so runs sharing one broker and one ClickHouse never see each other's data."""
    values: dict[str, object] = {
        "data_dir": data_dir,
        "kafka_bootstrap": bootstrap,
        "topic_events": f"{run}.usage.events",
        "topic_priced": f"{run}.usage.priced",
        "topic_dlq": f"{run}.usage.dlq",
        "topic_routed": f"{run}.usage.routed",
        "topic_budget_commands": f"{run}.usage.budget-commands",
        "topic_budget_replies": f"{run}.usage.budget-replies",
        "topic_alerts": f"{run}.usage.alerts",
        "topic_api_keys": f"{run}.usage.api-keys",
        "topic_sessions": f"{run}.usage.sessions",
        "topic_webhooks": f"{run}.usage.webhooks",
        "app_id": f"meterstream-{run}",
        "sink_group": f"sink-{run}",
        "worker_port": free_port(),
        "clickhouse_dsn": clickhouse_dsn,
        "clickhouse_database": run,
    }
    return Settings(**{**values, **overrides})
