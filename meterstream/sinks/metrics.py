"""The sink's Prometheus counters."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry

from meterstream.metrics import CounterCollector, registry_of
from meterstream.sinks.runner import SinkCounts


def sink_registry(counts: SinkCounts) -> CollectorRegistry:
    def events() -> Counter[tuple[str]]:
        return Counter({
            ("batches",): counts.batches, ("retries",): counts.retries, ("dead_lettered",): counts.dead_lettered,
            ("skipped_as_stored",): counts.skipped_as_stored,
        })

    return registry_of(
        CounterCollector("meterstream_sink_rows_stored", "Rows stored in ClickHouse since start.",
                         ("tenant", "partition"), lambda: counts.stored_by_tenant),
        CounterCollector("meterstream_sink_events", "Sink batches, retries, dead letters and skipped replays.",
                         ("kind",), events),
    )
