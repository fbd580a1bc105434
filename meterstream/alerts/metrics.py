"""Prometheus counters of the alert channel, registered in the registry of the process's /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from meterstream.alerts.retry import Outcome

# The `outcome` label of a webhook try: delivered, retried (will be tried again) or failed (final).
OUTCOME_LABELS = {Outcome.DELIVERED: "delivered", Outcome.RETRY: "retried", Outcome.FAILED: "failed"}


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.received = Counter(
            "meterstream_alerts_received", "New alerts read from the alerts topic, by kind (repeated ids not counted).",
            ["kind"], registry=registry,
        )
        self.malformed = Counter(
            "meterstream_alerts_malformed", "Records on the alerts topic that are not AlertRecords (skipped).",
            registry=registry,
        )
        self.deliveries = Counter(
            "meterstream_webhook_deliveries", "Webhook tries by outcome: delivered, retried or failed (final).",
            ["outcome"], registry=registry,
        )
