"""`meterstream reconcile`: prove that every message on usage.events was counted once.

Three independent records are compared: the source topic itself (with the dead-letter
topic saying which messages were rejected), the worker's ledger and session totals, and
ClickHouse. The expected outcome of each source message (of each event, for a batch
envelope) is derived here from the topic alone: dead-lettered if the DLQ names its position
(and index), a duplicate if its event_id came earlier (a conflicting duplicate if it says
something else than that first one), accepted otherwise.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from clickhouse_connect.driver.client import Client
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from meterstream.errors import InvalidUsageEvent
from meterstream.schemas import content_fingerprint, parse_usage_event
from meterstream.settings import Settings
from meterstream.stream.processor import UNKNOWN_TENANT
from meterstream.stream.routing import split_message

_POSITION = re.compile(r"^(?P<topic>.+)\[(?P<partition>\d+)\]@(?P<offset>\d+)$")
MAX_LISTED = 20


@dataclass
class Expected:
    messages: int = 0
    items: int = 0  # events, and messages not read as envelopes
    by_tenant: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    sessions: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # session -> event ids
    session_tenant: dict[str, str] = field(default_factory=dict)
    not_dead_lettered: list[str] = field(default_factory=list)


@dataclass
class Report:
    expected: Expected
    stored_rows: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        totals: Counter[str] = Counter()
        for counts in self.expected.by_tenant.values():
            totals.update(counts)
        return (f"{self.expected.messages:,} messages ({self.expected.items:,} items): "
                f"{totals['accepted']:,} accepted, "
                f"{totals['duplicate']:,} duplicates, {totals['conflict']:,} conflicting duplicates, "
                f"{totals['dead_letter']:,} dead-lettered; "
                f"{self.stored_rows:,} rows in ClickHouse across {len(self.expected.sessions):,} sessions")


def read_topic(settings: Settings, topic: str, group: str):
    """Every message of `topic` up to the high watermarks seen at the start."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group,
                         "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {}
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                ends[partition] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        while ends:
            for message in consumer.consume(1000, timeout=1.0):
                if message.error():
                    continue
                partition = message.partition()
                if partition in ends:
                    yield message
                    if message.offset() + 1 >= ends[partition]:
                        del ends[partition]
    finally:
        consumer.close()


def expected_outcomes(settings: Settings) -> Expected:
    dead: dict[tuple[int, int, int | None], str] = {}
    for message in read_topic(settings, settings.topic_dlq, "meterstream-reconcile"):
        headers = dict(message.headers() or [])
        position = _POSITION.match(headers.get("meterstream-source", b"").decode())
        if position and position["topic"] == settings.topic_events:
            tenant = headers.get("meterstream-tenant", UNKNOWN_TENANT.encode()).decode()
            index = headers.get("meterstream-index")
            dead[(int(position["partition"]), int(position["offset"]),
                  None if index is None else int(index))] = tenant

    expected = Expected()
    seen: dict[str, str] = {}  # event_id -> what it said first (content_fingerprint)
    messages = sorted(read_topic(settings, settings.topic_events, "meterstream-reconcile"),
                      key=lambda m: (m.partition(), m.offset()))
    items = ((message.partition(), item) for message in messages
             for item, _ in split_message(f"{settings.topic_events}:{message.partition()}", message.offset(),
                                          None, message.value()))
    expected.messages = len(messages)
    for partition, item in items:
        expected.items += 1
        position = (partition, item.offset, item.index)
        if position in dead:
            expected.by_tenant[dead[position]]["dead_letter"] += 1
            continue
        try:
            event = parse_usage_event(item.value or b"")
        except InvalidUsageEvent as error:
            at = "" if item.index is None else f"#{item.index}"
            expected.not_dead_lettered.append(f"{settings.topic_events}[{partition}]@{item.offset}{at}: {error}")
            continue
        event_id = str(event.event_id)
        if event_id in seen:
            conflict = seen[event_id] != content_fingerprint(event)
            expected.by_tenant[event.tenant_id]["conflict" if conflict else "duplicate"] += 1
            continue
        seen[event_id] = content_fingerprint(event)
        expected.by_tenant[event.tenant_id]["accepted"] += 1
        expected.sessions[event.session_id].add(event_id)
        expected.session_tenant[event.session_id] = event.tenant_id
    return expected


def _get_json(url: str, headers: dict[str, str] | None = None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
        return json.loads(response.read())


def reconcile(settings: Settings, client: Client, worker_urls: list[str] | None = None) -> Report:
    expected = expected_outcomes(settings)
    report = Report(expected)
    differences = report.differences
    differences += [f"not in the DLQ although invalid: {item}" for item in expected.not_dead_lettered[:MAX_LISTED]]

    ledger: dict[str, Counter[str]] = defaultdict(Counter)
    worker_sessions: dict[str, dict] = {}
    for url in worker_urls or [settings.worker_url]:
        for tenant, counts in _get_json(f"{url}/ledger", settings.worker_headers()).items():
            ledger[tenant].update(counts)
        worker_sessions.update(_get_json(f"{url}/sessions", settings.worker_headers()))

    for tenant in sorted(set(ledger) | set(expected.by_tenant)):
        want, have = expected.by_tenant[tenant], ledger[tenant]
        got = {"accepted": have["priced"] + have["unpriced"], "duplicate": have["duplicate"],
               "conflict": have["conflict"], "dead_letter": have["dead_letter"]}
        for outcome, count in got.items():
            if count != want[outcome]:
                differences.append(f"tenant {tenant}: worker counted {count} {outcome}, the topic says {want[outcome]}")

    table = f"{settings.clickhouse_database}.usage_events"
    stored = {
        session: (count, cost)
        for session, count, cost in client.query(
            f"SELECT session_id, count(), sum(cost) FROM {table} FINAL GROUP BY session_id").result_rows
    }
    report.stored_rows = sum(count for count, _ in stored.values())
    physical, = client.query(f"SELECT count() FROM {table}").result_rows[0]
    if physical != report.stored_rows:
        differences.append(f"ClickHouse holds {physical} rows for {report.stored_rows} events (unmerged repeats)")

    for session in sorted(set(expected.sessions) | set(stored) | set(worker_sessions)):
        want_ids = expected.sessions.get(session, set())
        count, cost = stored.get(session, (0, Decimal(0)))
        live = worker_sessions.get(session, {"operations": 0, "total_cost": "0"})
        if live["operations"] != len(want_ids):
            differences.append(f"session {session}: worker has {live['operations']} operations, "
                               f"the topic {len(want_ids)}")
        if count != len(want_ids):
            differences.append(f"session {session}: ClickHouse has {count} events, the topic {len(want_ids)}; "
                               + _id_differences(client, table, session, want_ids))
        if Decimal(live["total_cost"]) != cost:
            differences.append(f"session {session}: worker total {live['total_cost']} != ClickHouse {cost}")
    return report


def _id_differences(client: Client, table: str, session: str, want: set[str]) -> str:
    have = {str(row[0]) for row in client.query(
        f"SELECT DISTINCT event_id FROM {table} WHERE session_id = {{s:String}}", parameters={"s": session}
    ).result_rows}
    missing, extra = sorted(want - have), sorted(have - want)
    return f"missing {missing[:MAX_LISTED]}, unexpected {extra[:MAX_LISTED]}"
