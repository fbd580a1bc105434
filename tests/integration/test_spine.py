"""The metering spine end to end: real Kafka broker, Faust worker process, embedded ClickHouse.

The expected totals are computed from the events that were sent, with list prices written
out in tests/expectations.py, independently of meterstream's pricing code.
"""

from __future__ import annotations

import time

from meterstream.devstack.pipeline import LocalPipeline
from meterstream.producers import UsageEmitter
from meterstream.producers.workload import studio_workload
from meterstream.reconcile import reconcile
from meterstream.schemas import CharacterUsage, ImageUsage, TokenUsage, VideoUsage
from tests.expectations import MALFORMED, expectations
from tests.integration.dlq import read_dead_letters


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def test_events_are_priced_totalled_and_stored_exactly_once(pipeline: LocalPipeline):
    settings = pipeline.settings
    events = list(studio_workload(1200, sessions=20, tenant_id="acme-creative"))
    resent = events[::24]  # 50 duplicate sends of an already-sent event_id
    assert {type(e.usage) for e in events} == {TokenUsage, ImageUsage, VideoUsage, CharacterUsage}

    expected = expectations(events)

    with UsageEmitter(settings) as emitter:
        for event in events:
            emitter.emit(event)
        for event in resent:
            emitter.emit(event)
        for payload in MALFORMED:
            emitter.send_raw(b"bad", payload)
        assert emitter.flush() == 0
    sent = len(events) + len(resent) + len(MALFORMED)

    wait_until(lambda: sum(pipeline.worker.counts().values()) >= sent, 90, "the worker to meter every message")
    assert pipeline.worker.counts() == {"priced": len(events), "duplicate": len(resent), "dead_letter": len(MALFORMED)}

    for session_id, want in expected.items():
        totals = pipeline.worker.session_totals(session_id)
        assert totals.total_cost == want.cost, session_id
        assert totals.operations == want.operations
        assert (totals.input_tokens, totals.output_tokens) == (want.input_tokens, want.output_tokens)
        assert (totals.images, totals.video_seconds, totals.characters) == (want.images, want.video_seconds,
                                                                            want.characters)
        assert set(totals.by_service) == want.services
        assert sum(s.cost for s in totals.by_service.values()) == want.cost
    assert pipeline.worker.session_totals("no-such-session") is None
    metrics = pipeline.worker.get("/metrics").decode()
    assert 'meterstream_worker_messages_total{outcome="priced",partition="0",tenant="acme-creative"}' in metrics

    assert pipeline.sink.wait_stored(len(events), timeout=60)
    pipeline.sink.stop()
    client, table = pipeline.sink.client, f"{settings.clickhouse_database}.usage_events"
    rows, unique = client.query(f"SELECT count(), uniqExact(event_id) FROM {table}").result_rows[0]
    assert rows == unique == len(events)
    stored = dict(client.query(f"SELECT session_id, sum(cost) FROM {table} FINAL GROUP BY session_id").result_rows)
    assert stored == {session_id: want.cost for session_id, want in expected.items()}

    report = reconcile(settings, client)
    assert report.consistent, report.differences
    assert report.stored_rows == len(events)

    dead = read_dead_letters(settings)
    assert sorted(record.value or b"" for record in dead) == sorted(MALFORMED)
    assert all(record.reason and record.source.startswith(settings.topic_events) for record in dead)


def test_reconcile_reports_a_conflicting_duplicate_apart_from_a_plain_one(pipeline: LocalPipeline, capsys):
    from decimal import Decimal

    from meterstream.cli import build_parser

    settings = pipeline.settings
    events = list(studio_workload(40, sessions=4, tenant_id="acme-creative"))
    first, second = events[3], events[7]
    # the same event_id again with other content: not the same usage repeated
    conflicting = first.model_copy(update={"attributes": {**first.attributes, "feature": "changed"}})
    if isinstance(first.usage, TokenUsage):
        conflicting = conflicting.model_copy(update={"usage": first.usage.model_copy(
            update={"output_tokens": first.usage.output_tokens + 1})})
    with UsageEmitter(settings) as emitter:
        for event in events:
            emitter.emit(event)
        emitter.emit(second)  # a plain duplicate send
        emitter.emit(conflicting)
        assert emitter.flush() == 0
    sent = len(events) + 2
    wait_until(lambda: sum(pipeline.worker.counts().values()) >= sent, 90, "the worker to meter every message")
    assert pipeline.worker.counts() == {"priced": len(events), "duplicate": 1, "conflict": 1}
    assert pipeline.sink.wait_stored(len(events), timeout=60)
    pipeline.sink.stop()

    report = reconcile(settings, pipeline.sink.client)
    assert report.consistent, report.differences
    assert report.expected.by_tenant["acme-creative"] == {"accepted": len(events), "duplicate": 1, "conflict": 1}
    assert f"{len(events)} accepted, 1 duplicates, 1 conflicting duplicates" in report.summary()
    # the first content counts: ClickHouse holds the one row of that event_id as first sent
    client, table = pipeline.sink.client, f"{settings.clickhouse_database}.usage_events"
    (stored,) = client.query(f"SELECT attributes['feature'] FROM {table} FINAL WHERE event_id = {{e:UUID}}",
                             parameters={"e": str(first.event_id)}).result_rows
    assert stored[0] != "changed"
    assert Decimal(pipeline.worker.session_totals(first.session_id).total_cost) == dict(client.query(
        f"SELECT session_id, sum(cost) FROM {table} FINAL GROUP BY session_id").result_rows)[first.session_id]

    args = build_parser().parse_args(["reconcile"])
    assert args.handler(args, settings) == 0
    assert "1 duplicates, 1 conflicting duplicates" in capsys.readouterr().out
