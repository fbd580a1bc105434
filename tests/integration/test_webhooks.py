"""Alerts from the real broker to a real HTTP receiver: AlertRecords are produced to the
alerts topic with a plain Producer, the AlertsThread relays and delivers them, and the
receiver verifies every request with the `standardwebhooks` package.

Backoff and timeouts are shortened (base 0.1 s, cap 0.5 s, 1.5 s per try) so retries happen
within a test; the rules are the same as in production.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from meterstream.alerts.delivery import DeliveryOptions
from meterstream.alerts.metrics import AlertMetrics
from meterstream.alerts.retry import RetryPolicy
from meterstream.alerts.runner import AlertsThread
from meterstream.alerts.store import AlertStore, Delivery
from meterstream.devstack import KafkaBroker, free_port, isolated_settings
from meterstream.schemas.alerts import AlertRecord
from meterstream.settings import Settings
from tests.alerting import Receiver, new_tenant, produce_alerts, threshold_alert
from tests.conftest import eventually, unique_name

pytestmark = pytest.mark.integration

FAST = DeliveryOptions(timeout=1.5, concurrency=8, poll_seconds=0.05,
                       policy=RetryPolicy(base=0.1, cap=0.5, max_age=120))


@dataclass
class Channel:
    settings: Settings
    state_file: Path
    store: AlertStore
    tenant: str

    def thread(self, options: DeliveryOptions = FAST, metrics: AlertMetrics | None = None) -> AlertsThread:
        return AlertsThread(self.settings, self.state_file, options, metrics)

    def produce(self, records: list[AlertRecord] | list[bytes]) -> None:
        produce_alerts(self.settings.kafka_bootstrap, self.settings.topic_alerts, records, key=self.tenant)

    def webhook(self, receiver: Receiver, path: str, *script: int | str) -> str:
        webhook, secret = self.store.create_webhook(self.tenant, receiver.url(path))
        receiver.route(path, secret, *script)
        return webhook.webhook_id

    def deliveries(self, webhook_id: str) -> dict[str, Delivery]:
        return {d.alert_id: d for d in self.store.deliveries(webhook_id)}

    def settled(self, webhook_id: str, count: int, status: str = "delivered") -> Callable[[], dict[str, Delivery]]:
        def probe() -> dict[str, Delivery]:
            found = self.deliveries(webhook_id)
            return found if len(found) == count and all(d.status == status for d in found.values()) else {}
        return probe


@pytest.fixture
def channel(kafka_broker: KafkaBroker, tmp_path: Path) -> Channel:
    settings = isolated_settings(unique_name("alerts"), kafka_broker.bootstrap, "", tmp_path / "data")
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap})
    admin.create_topics([NewTopic(settings.topic_alerts, 2, 1)])[settings.topic_alerts].result(30)
    state_file = tmp_path / "api.sqlite3"
    return Channel(settings, state_file, AlertStore(state_file), new_tenant())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def alerts(channel: Channel, count: int) -> list[AlertRecord]:
    return [threshold_alert(channel.tenant, threshold=t) for t in range(1, count + 1)]


def test_three_alerts_make_exactly_three_verified_deliveries_with_the_alert_ids(
        channel: Channel, receiver: Receiver) -> None:
    webhook_id = channel.webhook(receiver, "/hook")
    records = alerts(channel, 3)
    with channel.thread():
        channel.produce(records)
        eventually(channel.settled(webhook_id, 3), what="three delivered alerts")

    got = receiver.at("/hook")
    assert len(got) == 3
    assert all(r.payload is not None for r in got), "every request verifies with standardwebhooks"
    assert sorted(r.webhook_id for r in got) == sorted(r.alert_id for r in records)
    assert {r.payload["data"]["alert_id"] for r in got} == {r.alert_id for r in records}
    payload = next(r.payload for r in got if r.webhook_id == records[0].alert_id)
    assert payload["type"] == "budget.threshold"
    assert payload["data"]["budget"]["spent"] == "80.000123"  # money stays a decimal string
    assert AlertRecord.model_validate(payload["data"]) == records[0]
    assert {r.headers["content-type"] for r in got} == {"application/json"}
    assert {r.headers["user-agent"] for r in got} == {"meterstream"}


def test_the_same_record_produced_twice_is_delivered_once(channel: Channel, receiver: Receiver) -> None:
    webhook_id = channel.webhook(receiver, "/hook")
    repeated, marker = alerts(channel, 2)
    with channel.thread():
        # Same key, same partition: once the marker is delivered, the repeat has been read too.
        channel.produce([repeated, repeated, marker])
        eventually(channel.settled(webhook_id, 2), what="the repeat and the marker delivered")

    assert Counter(r.webhook_id for r in receiver.at("/hook")) == {repeated.alert_id: 1, marker.alert_id: 1}
    assert len(channel.store.list_alerts(channel.tenant)) == 2


def test_alerts_sent_while_the_receiver_is_down_arrive_once_each_when_it_comes_back(channel: Channel) -> None:
    port = free_port()  # nothing listens there yet: connections are refused
    records = alerts(channel, 3)
    webhook, secret = channel.store.create_webhook(channel.tenant, f"http://127.0.0.1:{port}/hook")

    with channel.thread():
        channel.produce(records)
        eventually(lambda: all(d.attempts >= 3 for d in channel.deliveries(webhook.webhook_id).values())
                   and len(channel.deliveries(webhook.webhook_id)) == 3, what="failed tries while down")
        time.sleep(8)  # down for ~10 s in all
        with Receiver(port=port) as receiver:
            receiver.route("/hook", secret)
            found = eventually(channel.settled(webhook.webhook_id, 3), what="delivery after the receiver is back")

    got = receiver.at("/hook")
    assert all(r.payload is not None for r in got)
    assert Counter(r.webhook_id for r in got) == {r.alert_id: 1 for r in records}
    for delivery in found.values():
        assert delivery.attempts == len(delivery.tries) > 3
        assert all(t.error and t.error.startswith("connection error") for t in delivery.tries[:-1])
        assert delivery.tries[-1].status_code == 200


def test_a_500_is_retried_with_the_same_webhook_id_and_then_delivered(channel: Channel, receiver: Receiver) -> None:
    webhook_id = channel.webhook(receiver, "/flaky", 500, 500, 200)
    [record] = alerts(channel, 1)
    with channel.thread():
        channel.produce([record])
        [delivery] = eventually(channel.settled(webhook_id, 1), what="delivered after retries").values()

    got = receiver.at("/flaky")
    assert [r.answered for r in got] == [500, 500, 200]
    assert {r.webhook_id for r in got} == {record.alert_id}
    assert all(r.payload is not None for r in got)
    assert [t.status_code for t in delivery.tries] == [500, 500, 200]
    assert delivery.attempts == 3 and delivery.delivered_at is not None


def test_a_410_fails_for_good_is_not_retried_and_is_in_the_delivery_log(channel: Channel, receiver: Receiver) -> None:
    webhook_id = channel.webhook(receiver, "/gone", 410)
    with channel.thread():
        channel.produce(alerts(channel, 1))
        [delivery] = eventually(channel.settled(webhook_id, 1, "failed"), what="a failed delivery").values()
        time.sleep(1.5)  # several backoff periods: a retry would have happened by now

    assert len(receiver.at("/gone")) == 1
    [delivery] = channel.deliveries(webhook_id).values()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 410)
    assert "410" in (delivery.last_error or "")
    assert [t.status_code for t in delivery.tries] == [410]


def test_a_hanging_receiver_times_out_and_is_retried_without_holding_up_another_webhook(
        channel: Channel, receiver: Receiver) -> None:
    hanging = channel.webhook(receiver, "/hang", "hang", "hang", 200)
    prompt = channel.webhook(receiver, "/ok")
    with channel.thread():
        channel.produce(alerts(channel, 1))
        [fast] = eventually(channel.settled(prompt, 1), what="the other webhook's delivery").values()
        [slow] = eventually(channel.settled(hanging, 1), timeout=60, what="the hanging webhook's delivery").values()

    first_try = slow.tries[0]
    assert fast.delivered_at is not None
    assert fast.delivered_at < first_try.at + timedelta(milliseconds=first_try.duration_ms), \
        "the other webhook got its alert while the hanging one's first try was still waiting"
    assert [t.error is not None and t.error.startswith("timeout") for t in slow.tries] == [True, True, False]
    assert all(t.duration_ms >= 1400 for t in slow.tries[:2])
    assert slow.tries[-1].status_code == 200


def test_a_redirect_is_a_final_failure_and_is_not_followed(channel: Channel, receiver: Receiver) -> None:
    webhook_id = channel.webhook(receiver, "/moved", "redirect")
    receiver.route("/elsewhere", "whsec_" + "A" * 32)
    with channel.thread():
        channel.produce(alerts(channel, 1))
        [delivery] = eventually(channel.settled(webhook_id, 1, "failed"), what="a failed delivery").values()

    assert delivery.last_status_code == 302
    assert "redirects are not followed" in (delivery.last_error or "")
    assert receiver.at("/elsewhere") == []
    assert len(receiver.at("/moved")) == 1


def test_a_relay_stopped_midway_and_a_new_one_started_lose_nothing(channel: Channel, receiver: Receiver) -> None:
    webhook_id = channel.webhook(receiver, "/hook")
    before, after = alerts(channel, 40)[:20], alerts(channel, 40)[20:]
    slow = DeliveryOptions(timeout=5, concurrency=2, poll_seconds=0.05, policy=FAST.policy)
    receiver.hang_seconds = 0.2
    receiver.route("/hook", receiver.routes["/hook"].secret, "hang")  # each answer takes 0.2 s

    first = channel.thread(slow).start()
    channel.produce(before)
    eventually(lambda: sum(d.status == "delivered" for d in channel.deliveries(webhook_id).values()) >= 3,
               what="a few deliveries before the stop")
    first.stop()
    done_at_stop = sum(d.status == "delivered" for d in channel.deliveries(webhook_id).values())
    channel.produce(after)  # nobody is reading now
    with channel.thread():
        eventually(channel.settled(webhook_id, 40), timeout=60, what="all 40 delivered")

    assert done_at_stop < 20, "the stop came mid-way"
    delivered = Counter(r.webhook_id for r in receiver.at("/hook") if r.answered == 200)
    assert set(delivered) == {r.alert_id for r in before + after}
    # A try cancelled by the stop may have reached the receiver already: it is sent again
    # (with the same webhook-id, so receivers drop it), at most one per try in flight.
    assert sum(delivered.values()) - 40 <= slow.concurrency


def test_two_processes_sharing_the_state_file_deliver_each_alert_once(channel: Channel, receiver: Receiver) -> None:
    webhook_id = channel.webhook(receiver, "/hook")
    records = alerts(channel, 30)
    with channel.thread(), channel.thread():
        channel.produce(records)
        eventually(channel.settled(webhook_id, 30), what="30 delivered")

    assert Counter(r.webhook_id for r in receiver.at("/hook")) == {r.alert_id: 1 for r in records}


def test_a_malformed_record_is_skipped_and_counted_and_the_next_alert_still_arrives(
        channel: Channel, receiver: Receiver) -> None:
    webhook_id = channel.webhook(receiver, "/hook")
    metrics = AlertMetrics()
    [record] = alerts(channel, 1)
    with channel.thread(metrics=metrics) as thread:
        channel.produce([b"not json", b'{"alert_id": "x"}'])
        channel.produce([record])
        eventually(channel.settled(webhook_id, 1), what="the good alert delivered")
        assert thread.relay is not None and thread.relay.counts.malformed == 2

    assert metrics.malformed._value.get() == 2
    assert metrics.received.labels("budget.threshold")._value.get() == 1
    assert metrics.deliveries.labels("delivered")._value.get() == 1
