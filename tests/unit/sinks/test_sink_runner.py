"""The sink loop's write rules, with a fake Sink (no broker is contacted)."""

from datetime import UTC, datetime

from meterstream import failpoints
from meterstream.pricing import load_catalog, price_event
from meterstream.schemas import ImageUsage, Service, UsageEvent
from meterstream.settings import Settings
from meterstream.sinks.base import Sink, SinkRecord
from meterstream.sinks.runner import SinkRunner


class FlakySink(Sink):
    """Fails the first `outages` writes; refuses any batch holding a 'poison' session."""

    def __init__(self, outages: int = 0) -> None:
        self.outages = outages
        self.written: list[tuple[str, list[str]]] = []

    def write(self, records, batch_id):
        if self.outages:
            self.outages -= 1
            raise ConnectionError("ClickHouse is down")
        if any(r.priced.event.session_id == "poison" for r in records):
            raise ValueError("cannot store this")
        self.written.append((batch_id, [r.priced.event.session_id for r in records]))

    def stored_offsets(self):
        return {}

    def already_stored(self, records):
        return set()


def record(session: str, offset: int) -> SinkRecord:
    event = UsageEvent(tenant_id="acme", session_id=session, service=Service.IMAGE, model="imagen-4.0-generate",
                       occurred_at=datetime(2026, 5, 1, tzinfo=UTC), usage=ImageUsage(images=1))
    return SinkRecord(price_event(load_catalog(), event), 0, offset)


def runner(sink: Sink) -> SinkRunner:
    return SinkRunner(Settings(kafka_bootstrap="127.0.0.1:1"), sink)


def test_an_outage_is_retried_with_the_same_batch_id_until_it_passes():
    sink = FlakySink(outages=3)
    r = runner(sink)
    r._write([record("a", 0), record("b", 1)], "t:0:0-1")
    assert sink.written == [("t:0:0-1", ["a", "b"])]
    assert (r.counts.retries, r.counts.stored) == (3, 2)


def test_a_record_clickhouse_refuses_is_isolated_and_the_rest_are_stored():
    sink = FlakySink()
    r = runner(sink)
    r._write([record("a", 0), record("poison", 1), record("c", 2), record("d", 3)], "t:0:0-3")
    assert sorted(s for _, sessions in sink.written for s in sessions) == ["a", "c", "d"]
    assert (r.counts.stored, r.counts.dead_lettered) == (3, 1)


def test_an_injected_insert_failure_is_treated_as_an_outage():
    failpoints.configure("sink.insert=error*2")
    try:
        sink = FlakySink()
        r = runner(sink)
        r._write([record("a", 0)], "t:0:0-0")
        assert r.counts.retries == 2 and len(sink.written) == 1
    finally:
        failpoints.configure("")
