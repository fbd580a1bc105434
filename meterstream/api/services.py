"""What the routes use, built once per app in boot order and closed in reverse."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from meterstream.alerts.runner import AlertsThread
from meterstream.alerts.store import AlertStore
from meterstream.alerts.webhooks import WebhookRegistry
from meterstream.api.admission import SessionAdmission
from meterstream.api.legacy import import_local_state
from meterstream.api.live import LiveHub, WorkerClient
from meterstream.api.recent import RecentEvents
from meterstream.api.metrics import ApiMetrics
from meterstream.api.pricing import PricingAdapter
from meterstream.api.publisher import UsagePublisher
from meterstream.api.settings import ApiSettings
from meterstream.api.store import ApiStore, PortalSecrets
from meterstream.api.warehouse import Warehouse
from meterstream.budgets.client import BudgetClient
from meterstream.settings import Settings
from meterstream.sinks.clickhouse import connect, migrate
from meterstream.statements.book import StatementBook
from meterstream.statements.closer import StatementCloser
from meterstream.statements.lease import CloseLeases
from meterstream.statements.settings import StatementSettings

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    api: ApiSettings
    metrics: ApiMetrics
    store: ApiStore
    pricing: PricingAdapter
    warehouse: Warehouse
    publisher: UsagePublisher
    worker: WorkerClient
    live: LiveHub
    budgets: BudgetClient
    alerts: AlertStore
    webhooks: WebhookRegistry
    alerts_thread: AlertsThread | None
    statements: StatementBook
    statements_closer: StatementCloser | None
    portal_secrets: PortalSecrets
    admission: SessionAdmission
    recent: RecentEvents = field(default_factory=RecentEvents)

    @classmethod
    def start(cls, settings: Settings, api: ApiSettings, metrics: ApiMetrics) -> Services:
        # Keys and sessions are read whole before the first request is answered.
        store = ApiStore(settings).wait_ready()
        portal_secrets = PortalSecrets(store, api.token_secret.get_secret_value() if api.token_secret else None)
        pricing = PricingAdapter.from_settings(settings)
        client = connect(settings.clickhouse_url)
        migrate(client, settings.clickhouse_database, settings.clickhouse_cluster)
        warehouse = Warehouse(client, settings.clickhouse_database)
        publisher = UsagePublisher(settings, api.publish_timeout_seconds)
        worker = WorkerClient(settings.worker_url, headers=settings.worker_headers())
        live = LiveHub(worker, api.live_poll_seconds)
        budgets = BudgetClient(settings)
        # This host's own SQLite file: the alert feed, the webhook mirror and the delivery outbox.
        alerts = AlertStore(api.state_file(settings))
        webhooks = WebhookRegistry(settings, mirror=alerts).wait_ready()
        moved = import_local_state(api.state_file(settings), store, webhooks)
        if moved:
            log.info("moved %s from %s to Kafka", ", ".join(f"{n} {what}" for what, n in moved.items()),
                     api.state_file(settings))
        alerts_thread = None
        if api.alerts_enabled:
            alerts_thread = AlertsThread(settings, alerts.path, api.delivery_options(), metrics.alerts,
                                         before_record=webhooks.sync).start()
        statements = StatementBook(client, settings.clickhouse_database, StatementSettings(),
                                   CloseLeases(api.state_file(settings)), notify=alerts.record_notification,
                                   default_currency=pricing.catalog.currency)
        closer = None
        if api.statements_auto_close:
            closer = StatementCloser(statements, api.statements_close_interval_seconds).start()
        log.info("API services up: keys %s, sessions %s, local state %s, ClickHouse %s (%s), worker %s",
                 settings.topic_api_keys, settings.topic_sessions, alerts.path, settings.clickhouse_url,
                 settings.clickhouse_database, settings.worker_url)
        return cls(settings, api, metrics, store, pricing, warehouse, publisher, worker, live, budgets, alerts,
                   webhooks, alerts_thread, statements, closer, portal_secrets, SessionAdmission(store))

    async def close(self) -> None:
        if self.statements_closer is not None:
            await asyncio.to_thread(self.statements_closer.stop)
        if self.alerts_thread is not None:
            await asyncio.to_thread(self.alerts_thread.stop)
        await self.live.close()
        await self.worker.close()
        self.publisher.close()
        self.budgets.close()
        self.webhooks.close()
        self.store.close()


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
