"""The exports of a statement: JSON, CSV, a Beancount ledger and an hledger journal. Pure.

- JSON: the statement's canonical JSON (for a closed statement, the bytes it was frozen as).
- CSV: one row per line item, unpriced line, adjustment line, subtotal and total, each naming
  its statement, so one file of several statements imports as one table; money as plain text.
- Journals: one balanced transaction per closed statement with anything to bill, dated the
  last day of its month: the receivable account gets the total, the income account one
  posting per service (`Income:Usage:Text`), the adjustments account one per currency for
  late usage of earlier months. Amounts are the exact decimals of the statement, so the
  postings balance to zero exactly. Unpriced usage has no amount and is left as a comment.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from meterstream.pricing.money import money_text
from meterstream.statements.model import Statement
from meterstream.statements.periods import Month

CSV_COLUMNS = ("statement_id", "tenant_id", "month", "attribute", "value", "state", "kind", "for_month",
               "service", "model", "billing_unit", "component", "unit", "quantity", "unit_price", "amount",
               "currency", "events")


def to_json(statement: Statement) -> bytes:
    return statement.canonical_json()


def to_csv(statements: Iterable[Statement]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in statements:
        head = [s.statement_id, s.tenant_id, s.month, s.attribute or "", s.value or "", s.state]

        def row(kind: str, for_month: str = "", service: str = "", model: str = "", billing_unit: str = "",
                component: str = "", unit: str = "", quantity: Decimal | None = None,
                unit_price: Decimal | None = None, amount: Decimal | None = None, currency: str = "",
                events: int | None = None) -> None:
            writer.writerow([*head, kind, for_month, service, model, billing_unit, component, unit,
                             *("" if v is None else money_text(v) for v in (quantity, unit_price, amount)),
                             currency, "" if events is None else events])

        for adjustment_month, lines, unpriced in [("", s.lines, s.unpriced)] + [
                (a.for_month, a.lines, a.unpriced) for a in s.adjustments]:
            kind = "adjustment" if adjustment_month else "line"
            for i in lines:
                row(kind, adjustment_month, i.service, i.model, i.billing_unit, i.component, i.unit, i.quantity,
                    i.unit_price, i.amount, i.currency, i.events)
            for u in unpriced:
                row(f"unpriced_{kind}" if adjustment_month else "unpriced", adjustment_month, u.service, u.model,
                    u.billing_unit, quantity=u.quantity, events=u.events)
        for sub in s.subtotals:
            row("subtotal", service=sub.service, amount=sub.amount, currency=sub.currency)
        for a in s.adjustments:
            for t in a.totals:
                row("adjustment_subtotal", a.for_month, amount=t.amount, currency=t.currency, events=a.events)
        for t in s.totals:
            row("total", amount=t.amount, currency=t.currency, events=s.events)
    return out.getvalue()


@dataclass(frozen=True)
class Accounts:
    receivable: str = "Assets:Receivable:Usage"
    income: str = "Income:Usage"
    adjustments: str = "Income:Usage:Adjustments"

    def income_for(self, service: str) -> str:
        component = "".join(part.capitalize() for part in service.replace("_", "-").split("-") if part)
        return f"{self.income}:{component or 'Other'}"


@dataclass(frozen=True)
class _Transaction:
    statement: Statement
    postings: tuple[tuple[str, Decimal, str], ...]  # (account, amount, currency)


def _transactions(statements: Iterable[Statement], accounts: Accounts) -> list[_Transaction]:
    out = []
    for s in sorted(statements, key=lambda s: (s.month, s.attribute or "", s.value or "", s.tenant_id)):
        if s.state != "closed":
            raise ValueError(f"statement {s.statement_id} is open: a journal holds closed statements only")
        postings: list[tuple[str, Decimal, str]] = []
        for t in s.totals:
            if t.amount:
                postings.append((accounts.receivable, t.amount, t.currency))
        for sub in s.subtotals:
            if sub.amount:
                postings.append((accounts.income_for(sub.service), -sub.amount, sub.currency))
        late: dict[str, Decimal] = {}
        for a in s.adjustments:
            for t in a.totals:
                late[t.currency] = late.get(t.currency, Decimal(0)) + t.amount
        postings.extend((accounts.adjustments, -amount, currency) for currency, amount in sorted(late.items()) if amount)
        out.append(_Transaction(s, tuple(postings)))
    return out


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _describe(s: Statement) -> str:
    scope = f" {s.attribute}={s.value}" if s.attribute else ""
    return f"Statement {s.month}{scope}"


def _unpriced_note(s: Statement) -> int:
    return sum(u.events for u in s.unpriced) + sum(u.events for a in s.adjustments for u in a.unpriced)


def _opening(transactions: Sequence[_Transaction]) -> tuple[str, list[str]]:
    first = min((Month.parse(t.statement.month) for t in transactions), default=None)
    accounts = sorted({account for t in transactions for account, _, _ in t.postings})
    return (first.start.date().isoformat() if first else "1970-01-01"), accounts


def _metadata(s: Statement) -> list[tuple[str, str]]:
    pairs = [("statement-id", s.statement_id), ("content-hash", s.content_hash or "")]
    if s.attribute:
        pairs += [("attribute", s.attribute), ("value", s.value or "")]
    if _unpriced_note(s):
        pairs.append(("unpriced-events", str(_unpriced_note(s))))
    return pairs


def _render(transactions: Sequence[_Transaction], header: list[str],
            entry: Callable[[Statement], tuple[str, str, Callable[[str, str], str]]]) -> str:
    """The header, then one entry per transaction: `entry` gives its first line, the indent of
    its postings and how it writes one metadata pair."""
    lines = list(header)
    for t in transactions:
        s = t.statement
        if not t.postings:
            lines += [f"; {s.statement_id} {_describe(s)} ({s.tenant_id}): nothing to bill", ""]
            continue
        first, indent, meta = entry(s)
        lines.append(f"{Month.parse(s.month).last_day.isoformat()} * {first}")
        lines += [indent + meta(key, value) for key, value in _metadata(s)]
        lines += [f"{indent}{account}  {money_text(amount)} {currency}" for account, amount, currency in t.postings]
        lines.append("")
    return "\n".join(lines)


def _currencies(transactions: Sequence[_Transaction]) -> list[str]:
    return sorted({c for t in transactions for _, _, c in t.postings})


def beancount(statements: Iterable[Statement], accounts: Accounts = Accounts()) -> str:
    """A Beancount ledger (bean-check passes on it)."""
    transactions = _transactions(statements, accounts)
    opened, names = _opening(transactions)
    header = ["; meterstream statements: closed statements, one transaction each", 'option "title" "meterstream"']
    header += [f'option "operating_currency" "{c}"' for c in _currencies(transactions)]
    header += [""] + [f"{opened} open {name}" for name in names] + [""]
    return _render(transactions, header, lambda s: (
        f"{_quoted(s.tenant_id)} {_quoted(_describe(s))}", "  ", lambda key, value: f"{key}: {_quoted(value)}"))


def hledger(statements: Iterable[Statement], accounts: Accounts = Accounts()) -> str:
    """An hledger journal (`hledger check --strict` passes on it: accounts and commodities declared)."""
    transactions = _transactions(statements, accounts)
    _, names = _opening(transactions)
    header = ["; meterstream statements: closed statements, one transaction each", ""]
    header += [f"account {name}" for name in names] + [f"commodity {c}" for c in _currencies(transactions)] + [""]
    return _render(transactions, header, lambda s: (
        f"{s.tenant_id.replace('|', '/')} | {_describe(s)}", "    ", lambda key, value: f"; {key}: {value}"))
