"""Prometheus exposition of the counters the worker and the sink keep."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

# aiohttp sets the charset itself and refuses one inside content_type.
CONTENT_TYPE = "text/plain; version=0.0.4"


class CounterCollector(Collector):
    """Exposes a Counter keyed by label tuples as one Prometheus counter family."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...],
                 source: Callable[[], Counter[tuple]]) -> None:
        self.name, self.documentation, self.labels, self.source = name, documentation, labels, source

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for key, value in sorted(self.source().items()):
            family.add_metric([str(part) for part in key], value)
        yield family


def registry_of(*collectors: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    for collector in collectors:
        registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
