"""`meterstream statements list|show|close|close-due|export|journal`: monthly statements.

These open ClickHouse themselves. In embedded mode (chdb://) only one process can open the
folder: while `meterstream serve` holds it, they fail saying so; use the API then
(`/v1/statements`, which `serve` answers), or stop `serve`. With a ClickHouse server they run
beside everything else. Closes take the same leases (in the API's state file) as `serve`,
and their statement.closed webhooks are queued in that file for `serve` to deliver.
"""

from __future__ import annotations

import argparse
import sys

from meterstream.cli.common import console
from meterstream.settings import Settings

FORMATS = ("json", "csv", "beancount", "hledger")


def _book(settings: Settings):  # -> StatementBook; imports kept local so `--help` stays fast
    from meterstream.alerts.store import AlertStore
    from meterstream.api import ApiSettings
    from meterstream.pricing import load_catalog
    from meterstream.sinks.clickhouse import connect, migrate
    from meterstream.statements.book import StatementBook
    from meterstream.statements.lease import CloseLeases
    from meterstream.statements.settings import StatementSettings

    from meterstream.errors import InfrastructureUnavailable

    try:
        client = connect(settings.clickhouse_url)
    except InfrastructureUnavailable as error:
        if settings.clickhouse_url.startswith("chdb://"):
            raise InfrastructureUnavailable(
                f"{error}. If `meterstream serve` runs on this folder, ask it instead: "
                "GET/POST /v1/statements (see docs/statements.md), or stop serve first") from error
        raise
    migrate(client, settings.clickhouse_database)
    state = ApiSettings().state_file(settings)
    return StatementBook(client, settings.clickhouse_database, StatementSettings(), CloseLeases(state),
                         notify=AlertStore(state).record_notification,
                         default_currency=load_catalog(settings.catalog).currency)


def _table(statements: list) -> None:
    from rich.console import Console
    from rich.table import Table

    from meterstream.pricing.money import money_text

    table = Table()
    for column, justify in (("statement", "left"), ("month", "left"), ("value", "left"), ("state", "left"),
                            ("events", "right"), ("adjustments", "right"), ("total", "right")):
        table.add_column(column, justify=justify, overflow="fold")
    for s in statements:
        total = ", ".join(f"{money_text(t.amount)} {t.currency}" for t in s.totals) or "0"
        late = ", ".join(a.for_month for a in s.adjustments) or "-"
        value = f"{s.attribute}={s.value}" if s.attribute else "(tenant)"
        table.add_row(s.statement_id, s.month, value, s.state, str(s.events), late, total)
    Console().print(table)


def _statements(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.statements import render
    from meterstream.statements.model import parse_statement_id
    from meterstream.statements.periods import Month

    book = _book(settings)
    if args.action == "list":
        month = Month.parse(args.month) if args.month else None
        statements = book.list(args.tenant, month or _current(), args.attribute)
        if args.json:
            print("[" + ",".join(s.canonical_json().decode() for s in statements) + "]")
        else:
            _table(statements)
        return 0
    if args.action == "close-due":
        closed = book.close_due()
        for tenant, attribute, month in closed:
            print(f"closed {tenant} {month}" + (f" by {attribute}" if attribute else ""))
        console.print(f"{len(closed)} month(s) closed")
        return 0
    if args.action == "journal":
        statements = book.journal(args.tenant, args.attribute)
        accounts = render.Accounts(book.settings.receivable_account, book.settings.income_account,
                                   book.settings.adjustments_account)
        sys.stdout.write((render.beancount if args.format == "beancount" else render.hledger)(statements, accounts))
        return 0
    statement_id = args.statement_id
    if statement_id is None:
        if not args.month:
            console.print("[red]error:[/] give a statement id, or --month (and --attribute, --value)")
            return 2
        from meterstream.statements.model import statement_id as make_id

        statement_id = make_id(args.tenant, Month.parse(args.month), args.attribute,
                               args.value if args.attribute else None)
    parse_statement_id(statement_id, args.tenant)  # a wrong tenant or id fails here, saying so
    if args.action == "close":
        statement = book.close(args.tenant, statement_id)
        console.print(f"{statement.statement_id} closed at {statement.closed_at:%Y-%m-%d %H:%M:%S} UTC, "
                      f"content hash {statement.content_hash}")
        _table([statement])
        return 0
    statement = book.get(args.tenant, statement_id)
    if args.action == "show":
        sys.stdout.write(statement.canonical_json().decode() + "\n")
        return 0
    if args.format in ("beancount", "hledger") and statement.state != "closed":
        console.print(f"[red]error:[/] {statement_id} is open: a journal holds closed statements only")
        return 3
    accounts = render.Accounts(book.settings.receivable_account, book.settings.income_account,
                               book.settings.adjustments_account)
    output = {"json": lambda: render.to_json(statement).decode(), "csv": lambda: render.to_csv([statement]),
              "beancount": lambda: render.beancount([statement], accounts),
              "hledger": lambda: render.hledger([statement], accounts)}[args.format]()
    sys.stdout.write(output)
    return 0


def _current():
    from datetime import UTC, datetime

    from meterstream.statements.periods import Month

    return Month.of(datetime.now(UTC))


def register(commands: argparse._SubParsersAction) -> None:
    statements = commands.add_parser("statements", help="monthly statements: list, show, close, export, journal")
    actions = statements.add_subparsers(dest="action", required=True)

    def one(name: str, help: str) -> argparse.ArgumentParser:  # noqa: A002
        parser = actions.add_parser(name, help=help)
        parser.add_argument("statement_id", nargs="?", help="a statement id (or give --month)")
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--month", help="YYYY-MM, instead of an id")
        parser.add_argument("--attribute", help="with --month: the attribute (e.g. customer)")
        parser.add_argument("--value", default="", help="with --attribute: its value")
        return parser

    listing = actions.add_parser("list", help="a month's statements (default the current month)")
    listing.add_argument("--tenant", required=True)
    listing.add_argument("--month", help="YYYY-MM")
    listing.add_argument("--attribute", help="one statement per value of this attribute")
    listing.add_argument("--json", action="store_true", help="the statements as JSON, money as decimal strings")
    one("show", "one statement as JSON")
    one("close", "close the statement's month now (every statement of its month and attribute)")
    export = one("export", "a statement as JSON, CSV, a Beancount ledger or an hledger journal")
    export.add_argument("--format", choices=FORMATS, default="json")
    actions.add_parser("close-due", help="close every month whose grace period has passed (what serve does)")
    journal = actions.add_parser("journal", help="every closed statement of a tenant as one journal")
    journal.add_argument("--tenant", required=True)
    journal.add_argument("--attribute")
    journal.add_argument("--format", choices=("beancount", "hledger"), default="beancount")
    statements.set_defaults(handler=_statements)
