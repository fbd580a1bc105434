"""usage.alerts, all of it, → this host's feed (the `alerts` table), for display only.

The relay (relay.py) reads only this host's share of the topic, as one member of a consumer
group, so that each alert is delivered by one host. Showing only that share would make the
alert list and the push stream of a host miss every alert another host relayed. So each host
also reads every partition itself, without a group, into its feed; the list and the stream
read the feed, never the topic. Recording is by alert id and idempotent, so the two readers
may take an alert in either order; only the relay makes deliveries.

Where it stands is kept in the same transaction as the alerts it read (`feed_positions`): a
restart goes on from there, and a crash between the two at worst reads a batch again.
The topic's partition count is read once, at start: usage.alerts keeps the count it was
created with (`topics scale` does not touch it).
"""

from __future__ import annotations

import threading

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from meterstream.alerts.relay import ReaderLoop, decode_alert, retrying
from meterstream.alerts.store import AlertStore
from meterstream.errors import InfrastructureUnavailable
from meterstream.schemas.alerts import AlertRecord
from meterstream.settings import Settings


class FeedReader(ReaderLoop):
    def __init__(self, settings: Settings, store: AlertStore) -> None:
        self.store = store
        self.topic = settings.topic_alerts
        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap, "group.id": f"{settings.app_id}-alert-feed",
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100,
        })
        metadata = self._consumer.list_topics(self.topic, timeout=10).topics.get(self.topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            self._consumer.close()
            raise InfrastructureUnavailable(f"the topic {self.topic} is missing on {settings.kafka_bootstrap}")
        known = store.feed_positions()
        self._consumer.assign([TopicPartition(self.topic, p, known.get(p, OFFSET_BEGINNING))
                               for p in metadata.partitions])

    def step(self, stop: threading.Event, timeout: float = 0.2) -> int:
        """Read what is there (up to a batch) into the feed; returns how many alerts were new."""
        records: list[AlertRecord] = []
        positions: dict[int, int] = {}
        for message in self._messages(timeout):
            positions[message.partition()] = message.offset() + 1
            record = decode_alert(message)
            if record is not None:
                records.append(record)
        if not positions:
            return 0
        new = retrying(lambda: self.store.add_to_feed(records, positions), stop,
                       f"alert feed: could not record {len(records)} alerts")
        return new or 0
