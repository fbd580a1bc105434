"""Statements on the real (embedded) ClickHouse engine: events priced by the engine and stored by
the sink's own writer, one database per test. The clock is the test's: 1 December 2026, so
October is past its grace period and November within it (default grace: 3 days).

List prices used below (catalog google-2026-11-30), per unit: gemini-2.5-flash input 0.0000003,
cached input 0.00000003, output 0.0000025; imagen-4.0-generate 0.04 an image.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterstream.sinks.clickhouse import connect
from meterstream.statements import render
from meterstream.statements.book import MonthNotEnded, StatementNotFound
from meterstream.statements.model import statement_id
from meterstream.statements.periods import Month
from tests.statementing import Clock, Ledger, bean_check, hledger_check, total_cost, usage_event

pytestmark = pytest.mark.integration

D = Decimal
OCT, NOV = Month(2026, 10), Month(2026, 11)
OCT_5 = datetime(2026, 10, 5, 12, tzinfo=UTC)
NOV_5 = datetime(2026, 11, 5, 12, tzinfo=UTC)
TEXT = {"unit": "tokens", "input_tokens": 1000, "cached_input_tokens": 400, "output_tokens": 100}
IMAGES = {"unit": "images", "images": 3}


@pytest.fixture
def client(clickhouse_dsn):
    return connect(clickhouse_dsn)


@pytest.fixture
def ledger(client, tmp_path) -> Ledger:
    return Ledger(client, tmp_path)


def lines(statement) -> list[tuple]:
    return [(i.model, i.component, i.quantity, i.unit_price, i.amount, i.events) for i in statement.lines]


def test_line_items_are_quantity_unit_price_and_amount_per_model_and_component(ledger) -> None:
    ledger.store(usage_event(OCT_5, usage=TEXT), usage_event(OCT_5, usage=TEXT),
                 usage_event(OCT_5, "imagen-4.0-generate", IMAGES))

    (statement,) = ledger.book.list("acme", OCT)

    assert lines(statement) == [
        ("imagen-4.0-generate", "image", D(3), D("0.04"), D("0.12"), 1),
        ("gemini-2.5-flash", "cached_input", D(800), D("0.00000003"), D("0.000024"), 2),
        ("gemini-2.5-flash", "input", D(1200), D("0.0000003"), D("0.00036"), 2),
        ("gemini-2.5-flash", "output", D(200), D("0.0000025"), D("0.0005"), 2),
    ]
    assert [(s.service, s.amount) for s in statement.subtotals] == [("image", D("0.12")), ("text", D("0.000884"))]
    assert statement.total() == D("0.120884") and statement.currency == "USD" and statement.events == 3
    assert statement.state == "open" and statement.catalog_versions == ("google-2026-11-30",)
    assert statement.tenant_pricing_versions == ("list",)


def test_unpriced_usage_is_listed_apart_and_adds_nothing_to_the_total(ledger) -> None:
    ledger.store(usage_event(OCT_5), usage_event(OCT_5, "gemini-9-ultra", {"unit": "tokens", "input_tokens": 70,
                                                                           "output_tokens": 5}))
    (statement,) = ledger.book.list("acme", OCT)
    assert [(u.model, u.quantity, u.events) for u in statement.unpriced] == [("gemini-9-ultra", D(75), 1)]
    assert statement.total() == D("0.00055") and statement.events == 2


def test_a_statement_per_customer_and_they_add_up_to_the_tenant(ledger) -> None:
    ledger.store(usage_event(OCT_5, customer="globex"), usage_event(OCT_5, customer="initech"),
                 usage_event(OCT_5, customer="initech"), usage_event(OCT_5))

    by_customer = ledger.book.list("acme", OCT, "customer")

    assert [(s.value, s.events, s.total()) for s in by_customer] == [
        ("", 1, D("0.00055")), ("globex", 1, D("0.00055")), ("initech", 2, D("0.0011"))]
    assert sum(s.total() for s in by_customer) == ledger.book.list("acme", OCT)[0].total()
    assert len({s.statement_id for s in by_customer}) == 3


def test_a_row_stored_twice_by_the_sink_counts_once(ledger) -> None:
    event = usage_event(OCT_5)
    ledger.store(event)
    ledger.store(event)  # the sink's at-least-once insert, before any merge
    (statement,) = ledger.book.list("acme", OCT)
    assert statement.events == 1 and statement.total() == D("0.00055")


def test_other_tenants_usage_is_not_on_the_statement(ledger) -> None:
    ledger.store(usage_event(OCT_5), usage_event(OCT_5, tenant="umbrella"))
    assert [s.events for s in ledger.book.list("acme", OCT)] == [1]
    with pytest.raises(StatementNotFound):
        ledger.book.get("umbrella", statement_id("acme", OCT, None, None))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["gemini-2.5-flash", "gemini-2.5-pro", "imagen-4.0-generate",
                                           "gemini-x-unknown"]),
                          st.integers(0, 300_000), st.integers(0, 5_000), st.integers(1, 30)),
                min_size=1, max_size=40))
def test_a_statement_total_is_the_sum_of_its_events_costs(client, tmp_path, draws) -> None:
    ledger = Ledger(client, tmp_path)
    events = [usage_event(datetime(2026, 10, day, tzinfo=UTC), model,
                          {"unit": "images", "images": 1 + n % 4} if model.startswith("imagen")
                          else {"unit": "tokens", "input_tokens": n, "output_tokens": out})
              for model, n, out, day in draws]
    priced = ledger.store(*events)

    (statement,) = ledger.book.list("acme", OCT)

    assert statement.total() == total_cost(priced)
    assert statement.events == len(events)
    for item in statement.lines:  # each line independently: the sum of that component over its events
        billed = [line for p in priced for line in p.lines if p.event.model == item.model
                  and line.component == item.component and line.unit_price == item.unit_price]
        assert (item.amount, item.quantity, item.events) == (
            sum(line.cost for line in billed), sum(line.quantity for line in billed), len(billed))


def test_closing_freezes_the_statement_and_closing_again_answers_it_unchanged(ledger) -> None:
    ledger.store(usage_event(OCT_5))
    open_one = ledger.book.list("acme", OCT)[0]

    closed = ledger.book.close("acme", open_one.statement_id)
    again = ledger.book.close("acme", open_one.statement_id)

    assert closed.state == "closed" and closed.closed_at is not None and closed.content_hash
    assert again.canonical_json() == closed.canonical_json()
    assert closed.model_copy(update={"state": "open", "closed_at": None, "content_hash": None}) == open_one
    assert len(ledger.notified) == 2 and ledger.notified[0][0] == ledger.notified[1][0]  # one message id


def test_a_late_event_goes_once_on_the_next_open_statement_and_the_closed_one_never_changes(ledger) -> None:
    ledger.store(usage_event(OCT_5))
    closed = ledger.book.close("acme", statement_id("acme", OCT, None, None))
    exports = {f: render.to_csv([closed]) if f == "csv" else render.to_json(closed) for f in ("json", "csv")}

    late = ledger.store(usage_event(OCT_5 + timedelta(days=1), "imagen-4.0-generate", IMAGES))

    october = ledger.book.get("acme", closed.statement_id)
    assert {"json": render.to_json(october), "csv": render.to_csv([october])} == exports
    (november,) = ledger.book.list("acme", NOV)
    assert [(a.for_month, a.events, [(i.model, i.amount) for i in a.lines]) for a in november.adjustments] == [
        ("2026-10", 1, [("imagen-4.0-generate", D("0.12"))])]
    assert november.lines == () and november.total() == total_cost(late) == D("0.12")


def test_a_resent_event_after_close_changes_nothing(ledger) -> None:
    event = usage_event(OCT_5)
    ledger.store(event)
    closed = ledger.book.close("acme", statement_id("acme", OCT, None, None))

    ledger.store(event)  # the same event_id again, stored after the close (a re-send past the dedup window)
    ledger.client.command(f"OPTIMIZE TABLE {ledger.database}.usage_events FINAL")  # the older copy merged away

    assert ledger.book.get("acme", closed.statement_id).canonical_json() == closed.canonical_json()
    assert ledger.book.list("acme", NOV) == []


def test_late_usage_skips_closed_months_and_freezes_into_the_statement_that_billed_it(ledger) -> None:
    ledger.store(usage_event(OCT_5))
    ledger.book.close("acme", statement_id("acme", OCT, None, None))
    ledger.store(usage_event(OCT_5))  # late for October: on November
    ledger.clock.now = datetime(2026, 12, 10, tzinfo=UTC)
    november = ledger.book.close("acme", statement_id("acme", NOV, None, None))
    ledger.store(usage_event(OCT_5), usage_event(NOV_5))  # late for both, after both closed: on December

    (december,) = ledger.book.list("acme", Month(2026, 12))

    assert [(a.for_month, a.events) for a in november.adjustments] == [("2026-10", 1)]
    assert [(a.for_month, a.events, a.totals[0].amount) for a in december.adjustments] == [
        ("2026-10", 1, D("0.00055")), ("2026-11", 1, D("0.00055"))]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2), st.booleans(), st.sampled_from(["globex", "initech", None])),
                min_size=1, max_size=25))
def test_closed_statements_and_adjustments_add_up_to_every_event_once(client, tmp_path, draws) -> None:
    """Events of Aug-Oct stored before or after those months close, by customer: whatever the
    order, the frozen statements plus the open adjustments bill every event exactly once."""
    ledger = Ledger(client, tmp_path)
    months = [Month(2026, 8), Month(2026, 9), OCT]
    before = [usage_event(datetime(2026, 8 + m, 3, tzinfo=UTC), customer=c) for m, late, c in draws if not late]
    after = [usage_event(datetime(2026, 8 + m, 3, tzinfo=UTC), customer=c) for m, late, c in draws if late]
    priced = ledger.store(*before) if before else []
    for month in months:
        ledger.book.close_unit("acme", "customer", month)
        if month == Month(2026, 9) and after:
            priced += ledger.store(*after[: len(after) // 2])
    if after[len(after) // 2:]:
        priced += ledger.store(*after[len(after) // 2:])

    billed = sum((s.total() for m in months for s in ledger.book.list("acme", m, "customer")), D(0))
    billed += sum((s.total() for s in ledger.book.list("acme", NOV, "customer")), D(0))
    events = sum(s.events + sum(a.events for a in s.adjustments)
                 for m in [*months, NOV] for s in ledger.book.list("acme", m, "customer"))

    assert billed == total_cost(priced)
    assert events == len(priced)


def test_the_running_month_cannot_close(ledger) -> None:
    with pytest.raises(MonthNotEnded):
        ledger.book.close("acme", statement_id("acme", Month(2026, 12), None, None))


def test_months_past_their_grace_period_close_by_themselves(ledger) -> None:
    ledger.store(usage_event(OCT_5, customer="globex"), usage_event(NOV_5))

    closed = ledger.book.close_due()

    assert closed == [("acme", "", OCT), ("acme", "customer", OCT)]
    assert ledger.book.list("acme", OCT)[0].state == "closed"
    assert ledger.book.list("acme", NOV)[0].state == "open"  # November closes on 4 December
    assert ledger.book.close_due() == []
    ledger.clock.now = datetime(2026, 12, 4, tzinfo=UTC)
    assert ledger.book.close_due() == [("acme", "", NOV), ("acme", "customer", NOV)]


def test_a_longer_grace_period_keeps_the_month_open(client, tmp_path) -> None:
    ledger = Ledger(client, tmp_path, Clock(datetime(2026, 11, 20, tzinfo=UTC)), grace_days=30)
    ledger.store(usage_event(OCT_5))
    assert ledger.book.close_due() == []
    assert ledger.book.list("acme", OCT)[0].closes_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_concurrent_closes_freeze_one_statement(client, tmp_path) -> None:
    ledger = Ledger(client, tmp_path)
    ledger.store(usage_event(OCT_5))
    sid = statement_id("acme", OCT, None, None)
    answers, stop = [], threading.Event()

    def keep_storing() -> None:  # events keep arriving while the closes race
        while not stop.is_set():
            ledger.store(usage_event(OCT_5))

    feeder = threading.Thread(target=keep_storing)
    feeder.start()
    closers = [threading.Thread(target=lambda: answers.append(ledger.book.close("acme", sid))) for _ in range(4)]
    for t in closers:
        t.start()
    for t in closers:
        t.join()
    stop.set()
    feeder.join()

    assert len({a.canonical_json() for a in answers}) == 1
    rows = client.query(f"SELECT count() FROM {ledger.database}.statement_closes").result_rows
    assert rows == [(1,)]


def test_the_journal_of_closed_statements_passes_bean_check_and_hledger_check(ledger, tmp_path) -> None:
    ledger.store(usage_event(OCT_5, usage=TEXT, customer="globex"),
                 usage_event(OCT_5, "imagen-4.0-generate", IMAGES, customer='in"tech'),
                 usage_event(OCT_5, "gemini-9-ultra", customer="globex"))
    ledger.book.close_due()
    ledger.store(usage_event(OCT_5, "imagen-4.0-generate", IMAGES, customer="globex"))  # late: on November
    ledger.clock.now = datetime(2026, 12, 4, tzinfo=UTC)
    ledger.book.close_due()
    statements = ledger.book.journal("acme", "customer")
    assert [(s.month, s.value) for s in statements] == [
        ("2026-10", "globex"), ("2026-10", 'in"tech'), ("2026-11", "globex")]

    ledger_file = tmp_path / "statements.beancount"
    ledger_file.write_text(render.beancount(statements))
    checked = bean_check(ledger_file)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    journal_file = tmp_path / "statements.journal"
    journal_file.write_text(render.hledger(statements))
    hledger = hledger_check(journal_file)
    if hledger is not None:
        assert hledger.returncode == 0, hledger.stdout + hledger.stderr
    receivable = [line for line in ledger_file.read_text().splitlines() if "Assets:Receivable:Usage  " in line]
    assert receivable == ["  Assets:Receivable:Usage  0.000442 USD", "  Assets:Receivable:Usage  0.12 USD",
                          "  Assets:Receivable:Usage  0.12 USD"]
    assert "  Income:Usage:Adjustments  -0.12 USD" in ledger_file.read_text()


def test_closing_queues_a_statement_closed_message_per_statement(ledger) -> None:
    import json

    ledger.store(usage_event(OCT_5, customer="globex"), usage_event(OCT_5, customer="initech"))
    statements = ledger.book.close_unit("acme", "customer", OCT)
    bodies = [json.loads(body) for _, _, kind, body in ledger.notified]
    assert {b["type"] for b in bodies} == {"statement.closed"}
    assert [(b["data"]["value"], b["data"]["totals"]) for b in bodies] == [
        ("globex", [{"currency": "USD", "amount": "0.00055"}]), ("initech", [{"currency": "USD", "amount": "0.00055"}])]
    assert [b["data"]["content_hash"] for b in bodies] == [s.content_hash for s in statements]


def test_an_event_id_is_the_same_event_in_every_month_view(ledger) -> None:
    """A statement counts each event_id once even when its copies differ in stored_at only."""
    event_id = uuid.uuid4()
    ledger.store(usage_event(OCT_5, event_id=event_id))
    ledger.store(usage_event(OCT_5, event_id=event_id))
    assert ledger.book.list("acme", OCT)[0].events == 1
