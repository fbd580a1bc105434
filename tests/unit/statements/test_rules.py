"""The statement rules without infrastructure: months and grace, where late usage goes, which
closed months need a second look, ids, and the arithmetic of adjustments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterstream.statements.ledger import LATE_MARGIN, accounted_at, months_to_recheck, target_month
from meterstream.statements.lines import LineKey, Tally, Usage
from meterstream.statements.model import InvalidStatementId, parse_statement_id, statement_id
from meterstream.statements.periods import InvalidMonth, Month, close_due, closes_at, has_ended

D = Decimal
SEP, OCT, NOV, DEC = Month(2026, 9), Month(2026, 10), Month(2026, 11), Month(2026, 12)
GRACE = timedelta(days=3)


def at(day: int, month: int = 11, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_a_month_is_written_yyyy_mm_and_knows_its_bounds() -> None:
    assert Month.parse("2026-12") == DEC and str(DEC) == "2026-12"
    assert (DEC.start, DEC.end, DEC.last_day.isoformat()) == (at(1, 12), datetime(2027, 1, 1, tzinfo=UTC), "2026-12-31")
    assert (DEC.next(), Month(2027, 1).previous(), DEC.yyyymm) == (Month(2027, 1), DEC, 202612)
    for text in ("2026-13", "2026-1", "26-01", "december"):
        with pytest.raises(InvalidMonth):
            Month.parse(text)


def test_a_month_closes_by_itself_when_its_grace_period_has_passed() -> None:
    assert closes_at(OCT, GRACE) == at(4)
    assert not close_due(OCT, at(3, hour=23), GRACE) and close_due(OCT, at(4), GRACE)
    assert not has_ended(NOV, at(30, hour=23)) and has_ended(NOV, at(1, 12))


def test_late_usage_goes_on_the_first_open_month_after_its_own() -> None:
    assert target_month(SEP, {SEP}) == OCT
    assert target_month(SEP, {SEP, OCT, NOV}) == DEC


def test_a_month_is_accounted_up_to_the_last_close_of_the_closed_run_it_starts() -> None:
    closes = {SEP: at(4, 10), OCT: at(2, 11), DEC: at(9, 12)}
    assert accounted_at(SEP, closes) == at(2, 11)  # October's close computed September's late usage
    assert accounted_at(OCT, closes) == at(2, 11)  # November is open: December's close did not look


def test_only_months_with_rows_stored_after_their_accounting_are_looked_at_again() -> None:
    closes = {SEP: at(4, 10), OCT: at(4, 11)}
    stored = {SEP: at(4, 11) - LATE_MARGIN - timedelta(seconds=1), OCT: at(4, 11) - timedelta(minutes=1)}
    assert months_to_recheck(closes, stored) == [OCT]  # a row of October may not have been visible at its close
    assert months_to_recheck(closes, {SEP: at(20, 11)}) == [SEP]


def test_statement_ids_are_deterministic_readable_back_and_the_tenants_own() -> None:
    sid = statement_id("acme", OCT, "customer", "globex")
    assert sid == statement_id("acme", OCT, "customer", "globex") != statement_id("umbrella", OCT, "customer", "globex")
    assert parse_statement_id(sid, "acme") == (OCT, "customer", "globex")
    assert parse_statement_id(statement_id("acme", OCT, None, None), "acme") == (OCT, None, None)
    for bad in (sid.replace("stm_", "stx_"), sid[:-1] + "0", "stm_!!", "stm_e30.abc"):
        with pytest.raises(InvalidStatementId):
            parse_statement_id(bad, "acme")
    with pytest.raises(InvalidStatementId):
        parse_statement_id(sid, "umbrella")


KEY = LineKey("text", "gemini-2.5-flash", "tokens", "input", "0.0000003", "USD")
tallies = st.builds(Tally, st.integers(0, 50), st.decimals(0, 10**6, places=0), st.decimals(0, 10**3, places=12))


@given(tallies, tallies)
def test_what_was_billed_plus_the_adjustment_is_what_the_month_holds(billed: Tally, late: Tally) -> None:
    before = Usage({KEY: billed} if billed else {}, events=billed.events)
    now = before + Usage({KEY: late} if late else {}, events=late.events)
    adjustment = now - before
    assert (before + adjustment).lines == now.lines and (before + adjustment).events == now.events
    assert adjustment.amounts.get("USD", D(0)) == late.amount


def test_a_month_that_holds_what_was_billed_has_no_adjustment() -> None:
    usage = Usage({KEY: Tally(2, D(2000), D("0.0006"))}, events=2)
    assert not (usage - usage)
