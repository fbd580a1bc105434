"""The exports of a hand-built statement: CSV rows, and journals that the real bean-check and
hledger accept, with amounts exact."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest

from meterstream.statements import render
from meterstream.statements.lines import LineKey, Tally, UnpricedKey, Usage
from meterstream.statements.model import build_statement
from meterstream.statements.periods import Month
from tests.statementing import bean_check, hledger_check

D = Decimal
OCT = Month(2026, 10)
FLASH_IN = LineKey("text", "gemini-2.5-flash", "tokens", "input", "0.0000003", "USD")
FLASH_OUT = LineKey("text", "gemini-2.5-flash", "tokens", "output", "0.0000025", "USD")
IMAGEN = LineKey("image", "imagen-4.0-generate", "images", "image", "0.04", "USD")


def closed(month: Month = OCT, adjustments: dict | None = None, tenant: str = "acme", value: str | None = None):
    usage = Usage({FLASH_IN: Tally(3, D(123_457), D("0.0370371")), FLASH_OUT: Tally(3, D(999), D("0.0024975")),
                   IMAGEN: Tally(1, D(2), D("0.08"))},
                  {UnpricedKey("text", "gemini-9", "tokens"): Tally(1, D(75), D(0))}, events=5,
                  catalog_versions=frozenset({"google-2026-11-30"}), tenant_pricing=frozenset({"list"}))
    return build_statement(tenant_id=tenant, month=month, attribute="customer" if value else None, value=value,
                           usage=usage, adjustments=adjustments or {}, closes_at=month.end + timedelta(days=3),
                           default_currency="USD", closed_at=month.end + timedelta(days=3))


def test_totals_are_the_exact_sums_of_the_lines() -> None:
    statement = closed()
    assert [(s.service, s.amount) for s in statement.subtotals] == [("image", D("0.08")), ("text", D("0.0395346"))]
    assert statement.total() == D("0.1195346")


def test_the_content_hash_is_of_the_canonical_json_without_it() -> None:
    import hashlib

    statement = closed()
    assert statement.content_hash == hashlib.sha256(
        statement.model_copy(update={"content_hash": None}).canonical_json()).hexdigest()
    assert closed().canonical_json() == statement.canonical_json()


def test_csv_rows_name_their_kind_and_keep_money_exact() -> None:
    late = Usage({IMAGEN: Tally(1, D(1), D("0.04"))}, events=1)
    text = render.to_csv([closed(Month(2026, 11), {OCT: late})])
    rows = [line.split(",")[6:] for line in text.splitlines()[1:]]
    assert rows == [
        ["line", "", "image", "imagen-4.0-generate", "images", "image", "image", "2", "0.04", "0.08", "USD", "1"],
        ["line", "", "text", "gemini-2.5-flash", "tokens", "input", "token", "123457", "0.0000003", "0.0370371", "USD", "3"],
        ["line", "", "text", "gemini-2.5-flash", "tokens", "output", "token", "999", "0.0000025", "0.0024975", "USD", "3"],
        ["unpriced", "", "text", "gemini-9", "tokens", "", "", "75", "", "", "", "1"],
        ["adjustment", "2026-10", "image", "imagen-4.0-generate", "images", "image", "image", "1", "0.04", "0.04", "USD", "1"],
        ["subtotal", "", "image", "", "", "", "", "", "", "0.08", "USD", ""],
        ["subtotal", "", "text", "", "", "", "", "", "", "0.0395346", "USD", ""],
        ["adjustment_subtotal", "2026-10", "", "", "", "", "", "", "", "0.04", "USD", "1"],
        ["total", "", "", "", "", "", "", "", "", "0.1595346", "USD", "5"],
    ]


def test_the_beancount_ledger_balances_and_bean_check_accepts_it(tmp_path) -> None:
    statements = [closed(), closed(Month(2026, 11), {OCT: Usage({IMAGEN: Tally(1, D(1), D("0.04"))}, events=1)}),
                  closed(value='gl"obex \\ co')]
    accounts = render.Accounts("Assets:Receivable:Customers", "Income:GenAI", "Income:GenAI:Late")
    path = tmp_path / "journal.beancount"
    path.write_text(render.beancount(statements, accounts))
    checked = bean_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = path.read_text()
    assert "  Assets:Receivable:Customers  0.1595346 USD" in text and "  Income:GenAI:Late  -0.04 USD" in text
    assert "  Income:GenAI:Text  -0.0395346 USD" in text and "2026-10-31 * " in text


def test_the_hledger_journal_passes_hledger_check_strict(tmp_path) -> None:
    path = tmp_path / "journal.journal"
    path.write_text(render.hledger([closed(), closed(tenant="umbrella|corp")]))
    checked = hledger_check(path)
    if checked is None:
        if os.environ.get("CI"):
            pytest.fail("hledger is not installed; ./dev test installs it (Debian's hledger)")
        pytest.skip("hledger is not installed (apt-get install hledger)")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_journal_refuses_an_open_statement() -> None:
    statement = closed().model_copy(update={"state": "open", "closed_at": None})
    with pytest.raises(ValueError, match="open"):
        render.beancount([statement])


def test_unset_names_become_accounts_both_tools_accept() -> None:
    assert render.Accounts().income_for("text") == "Income:Usage:Text"
    assert render.Accounts().income_for("text_to-speech") == "Income:Usage:TextToSpeech"
    from meterstream.statements.settings import StatementSettings

    with pytest.raises(ValueError, match="account"):
        StatementSettings(income_account="income:usage")
    assert StatementSettings(grace_days=5).grace == timedelta(days=5)
