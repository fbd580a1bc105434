"""The alert channel beside the API: the relay (this host's share of Kafka → its outbox), the
feed reader (all of Kafka → its feed) and the delivery loop (outbox → webhooks), each on a
thread of its own, the delivery loop with its own asyncio loop.

API hosts each run one on their own SQLite file: the relays share a consumer group (each
reads its partitions), so every alert is delivered from one host, and every host's feed
shows every alert. Several processes may also share one file: the senders then share its
delivery queue through leases.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from meterstream.alerts.delivery import DeliveryLoop, DeliveryOptions
from meterstream.alerts.feed import FeedReader
from meterstream.alerts.metrics import AlertMetrics
from meterstream.alerts.relay import AlertRelay
from meterstream.alerts.store import AlertStore
from meterstream.schemas.alerts import AlertRecord
from meterstream.settings import Settings

log = logging.getLogger(__name__)


class AlertsThread:
    def __init__(self, settings: Settings, state_file: Path, options: DeliveryOptions | None = None,
                 metrics: AlertMetrics | None = None, before_record: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.before_record = before_record  # e.g. catch up with the shared webhooks (webhooks.py)
        self.store = AlertStore(state_file)
        self.options = options or DeliveryOptions()
        self.metrics = metrics
        self.error: BaseException | None = None
        self.relay: AlertRelay | None = None
        self.feed: FeedReader | None = None
        self._stop_relay = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_delivery: asyncio.Event | None = None
        self._delivery: DeliveryLoop | None = None
        self._loop_ready = threading.Event()
        self._relay_thread = threading.Thread(target=self._run_relay, name="alerts-relay", daemon=True)
        self._feed_thread = threading.Thread(target=self._run_feed, name="alerts-feed", daemon=True)
        self._delivery_thread = threading.Thread(target=self._run_delivery, name="alerts-delivery", daemon=True)

    def start(self) -> AlertsThread:
        self._delivery_thread.start()
        self._loop_ready.wait(10)
        try:
            self.relay = AlertRelay(self.settings, self.store, self.metrics, on_new=self._wake_delivery,
                                    before_record=self.before_record)
            self.feed = FeedReader(self.settings, self.store)
        except BaseException:
            self.stop()
            raise
        self._relay_thread.start()
        self._feed_thread.start()
        log.info("alerts: relaying %s into %s, delivering webhooks", self.settings.topic_alerts, self.store.path)
        return self

    def stop(self) -> None:
        """Stop reading (what was read but not recorded stays uncommitted), then stop sending
        (tries in flight are cancelled and their leases given back)."""
        self._stop_relay.set()
        for thread in (self._relay_thread, self._feed_thread):
            if thread.is_alive():
                thread.join(30)
        if self._loop is not None and self._stop_delivery is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop_delivery.set)
        if self._delivery_thread.is_alive():
            self._delivery_thread.join(30)

    def _wake_delivery(self, new: list[AlertRecord]) -> None:
        if self._loop is not None and self._delivery is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._delivery.wake)

    def _run_relay(self) -> None:
        assert self.relay is not None
        self._surfacing("the alerts relay", lambda: self.relay.run(self._stop_relay))  # type: ignore[union-attr]

    def _run_feed(self) -> None:
        assert self.feed is not None
        self._surfacing("the alert feed", lambda: self.feed.run(self._stop_relay))  # type: ignore[union-attr]

    def _run_delivery(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop_delivery = asyncio.Event()
            self._delivery = DeliveryLoop(self.store, self.options, self.metrics)
            self._loop_ready.set()
            await self._delivery.run(self._stop_delivery)

        try:
            self._surfacing("webhook delivery", lambda: asyncio.run(main()))
        finally:
            self._loop_ready.set()

    def _surfacing(self, what: str, run: Callable[[], object]) -> None:
        """Run a thread's body; if it dies, log it and keep the error for the owner (.error)."""
        try:
            run()
        except BaseException as error:  # noqa: BLE001 - surfaced to the owner via .error
            log.exception("%s stopped", what)
            self.error = error

    def __enter__(self) -> AlertsThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
