"""The metering spine end to end: real Kafka broker, Faust worker process, embedded ClickHouse.

The expected totals are computed here from the events that were sent, with the list
prices written out below, independently of meterstream's pricing code.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from meterstream.devstack.pipeline import LocalPipeline
from meterstream.producers import UsageEmitter
from meterstream.producers.workload import studio_workload
from meterstream.reconcile import reconcile
from meterstream.schemas import CharacterUsage, ImageUsage, TokenUsage, UsageEvent, VideoUsage
from tests.integration.dlq import read_dead_letters

M = Decimal(1_000_000)
# USD list prices (ai.google.dev/gemini-api/docs/pricing, cloud.google.com/text-to-speech/pricing).
TOKEN_PRICES = {  # input, cached input, output (incl. thinking) per 1M tokens
    "gemini-2.5-flash": (Decimal("0.30"), Decimal("0.03"), Decimal("2.50")),
    "gemini-2.5-pro": (Decimal("1.25"), Decimal("0.125"), Decimal("10.00")),
}
IMAGE_PRICES = {"imagen-4.0-generate": Decimal("0.04"), "imagen-4.0-fast-generate": Decimal("0.02")}
VIDEO_PRICES = {  # per second: with audio, without
    "veo-3.0-generate": (Decimal("0.40"), Decimal("0.20")),
    "veo-3.0-fast-generate": (Decimal("0.15"), Decimal("0.10")),
}
CHARACTER_PRICES = {"cloud-tts-chirp3-hd": Decimal("30") / M}

MALFORMED = [
    b'{"tenant_id": "acme-creative", "session_id": "s"',  # truncated JSON
    b"\xff\xfe\x00 not utf-8",
    b'{"tenant_id": "acme-creative", "session_id": "s", "service": "text", "model": "m", '
    b'"usage": {"unit": "tokens", "input_tokens": "lots"}}',
    b'{"tenant_id": "acme-creative", "session_id": "s", "service": "text", "model": "m", '
    b'"usage": {"unit": "parsecs", "n": 1}}',
    b'{"tenant_id": "acme-creative", "session_id": "s", "service": "image", "model": "m", '
    b'"usage": {"unit": "images", "images": -4}}',
    b'{"tenant_id": "acme-creative", "session_id": "s", "service": "image", "model": "m", '
    b'"occurred_at": "2099-01-01T00:00:00Z", "usage": {"unit": "images", "images": 1}}',
    b"[]",
    b"",
]


def expected_cost(event: UsageEvent) -> Decimal:
    usage = event.usage
    if isinstance(usage, TokenUsage):
        rate_in, rate_cached, rate_out = TOKEN_PRICES[event.model]
        uncached = usage.input_tokens - usage.cached_input_tokens
        return (uncached * rate_in + usage.cached_input_tokens * rate_cached
                + (usage.output_tokens + usage.thinking_tokens) * rate_out) / M
    if isinstance(usage, ImageUsage):
        return usage.images * IMAGE_PRICES[event.model]
    if isinstance(usage, VideoUsage):
        with_audio, without = VIDEO_PRICES[event.model]
        return usage.seconds * (with_audio if usage.with_audio else without)
    if isinstance(usage, CharacterUsage):
        return usage.characters * CHARACTER_PRICES[event.model]
    raise AssertionError(usage)


@dataclass
class Expected:
    cost: Decimal = Decimal(0)
    operations: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0
    video_seconds: Decimal = Decimal(0)
    characters: int = 0
    services: set[str] = field(default_factory=set)

    def add(self, event: UsageEvent) -> None:
        self.cost += expected_cost(event)
        self.operations += 1
        self.services.add(event.service.value)
        usage = event.usage
        if isinstance(usage, TokenUsage):
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens + usage.thinking_tokens
        elif isinstance(usage, ImageUsage):
            self.images += usage.images
        elif isinstance(usage, VideoUsage):
            self.video_seconds += usage.seconds
        else:
            self.characters += usage.characters


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

    expected: dict[str, Expected] = defaultdict(Expected)
    for event in events:
        expected[event.session_id].add(event)

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

    dead = read_dead_letters(settings.kafka_bootstrap, settings.topic_dlq, expected=len(MALFORMED))
    assert sorted(record.value or b"" for record in dead) == sorted(MALFORMED)
    assert all(record.reason and record.source.startswith(settings.topic_events) for record in dead)
