"""`meterstream budgets create|list|show|change|delete` and `meterstream reserve`.

An operator's door to the same budget owner the API asks (the worker, over Kafka): no API
key, a tenant named on the command line, like `meterstream keys`.
"""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from rich.table import Table

from meterstream.cli.common import console
from meterstream.settings import Settings

EXIT_NOT_FOUND = 4
EXIT_REFUSED = 6


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a decimal amount: {text!r}") from None


def _scope(args: argparse.Namespace) -> dict[str, Any]:
    scope: dict[str, Any] = {"kind": "tenant"}
    for kind in ("user", "session", "api_key"):
        if getattr(args, kind, None):
            scope = {"kind": kind, "value": getattr(args, kind)}
    if getattr(args, "attribute", None):
        key, _, value = args.attribute.partition("=")
        scope = {"kind": "attribute", "attribute": key, "value": value or None}
    return {**scope, **({"service": args.service} if args.service else {}),
            **({"model": args.model} if args.model else {})}


def _figures(entry: dict[str, Any]) -> dict[str, Any]:
    from meterstream.budgets.ledger import budget_status

    figures = budget_status(entry, datetime.now(UTC))
    return {**entry["def"], "status": {k: str(v) if isinstance(v, Decimal) else v for k, v in figures.items()}}


def _print_budgets(entries: list[dict[str, Any]], as_json: bool) -> None:
    shown = [_figures(entry) for entry in entries]
    if as_json:
        print(json.dumps(shown, indent=2, default=str))
        return
    table = Table(title="budgets", title_justify="left")
    table.add_column("budget (id)", overflow="fold")
    table.add_column("counts")
    table.add_column("spent / limit", justify="right")
    table.add_column("held", justify="right")
    table.add_column("left", justify="right")
    table.add_column("alerted")
    for budget in shown:
        scope = budget["scope"]
        words = "tenant" if scope["kind"] == "tenant" else f"{scope.get('attribute') or scope['kind']}={scope['value']}"
        words += "".join(f" {scope[name]}" for name in ("service", "model") if scope.get(name))
        status = budget["status"]
        unpriced = status["unpriced_operations"]
        table.add_row(f"{budget['name']}\n[dim]{budget['budget_id']}[/]",
                      f"{words}\n[dim]{budget['period']}, {budget['action']}[/]",
                      f"{_money(status['spent'])} / {_money(status['limit'])}"
                      + (f"\n[yellow]+{unpriced} unpriced[/]" if unpriced else ""),
                      _money(status["reserved"]), _money(status["remaining"]),
                      " ".join(f"{t}%" for t in status["thresholds_crossed"]) or "-")
    console.print(table)


def _money(text: str) -> str:
    """Two decimals at least, every further digit that is not zero: 0.0003 stays 0.0003."""
    from meterstream.schemas.alerts import format_money

    return format_money(Decimal(text), "").strip()


def _budgets(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.budgets import commands
    from meterstream.budgets.client import BudgetClient
    from meterstream.schemas.budgets import BudgetDefinition

    with BudgetClient(settings) as client:
        state = client.tenant_state(args.tenant) or {"budgets": {}}
        entries: dict[str, Any] = state["budgets"]
        if args.verb == "list":
            _print_budgets(list(entries.values()), args.json)
            return 0
        if args.verb in ("show", "delete", "change") and args.budget_id not in entries:
            console.print(f"tenant {args.tenant} has no budget {args.budget_id}")
            return EXIT_NOT_FOUND
        if args.verb == "show":
            _print_budgets([entries[args.budget_id]], args.json)
            return 0
        if args.verb == "delete":
            client.ask(commands.delete(args.tenant, args.budget_id))
            console.print(f"budget {args.budget_id} deleted")
            return 0
        now = datetime.now(UTC)
        if args.verb == "create":
            fields: dict[str, Any] = {"budget_id": f"bud_{uuid.uuid4().hex[:16]}", "tenant_id": args.tenant,
                                      "created_at": now, "name": args.name, "scope": _scope(args)}
        else:
            fields = dict(entries[args.budget_id]["def"])
            if args.name:
                fields["name"] = args.name
            if any(getattr(args, name, None) for name in ("user", "session", "api_key", "attribute")):
                fields["scope"] = _scope(args)
        for name in ("period", "limit", "action"):
            if getattr(args, name) is not None:
                fields[name] = getattr(args, name)
        if args.thresholds:
            fields["thresholds"] = [Decimal(t) for t in args.thresholds.split(",")]
        try:
            definition = BudgetDefinition.model_validate({**fields, "updated_at": now})
        except ValidationError as error:
            from meterstream.schemas import field_errors

            for problem in field_errors(error):
                console.print(f"[red]{problem['field']}:[/] {problem['reason']}")
            return 2
        client.ask(commands.define(definition))
        _print_budgets([client.tenant_state(args.tenant)["budgets"][definition.budget_id]], args.json)
    return 0


def _reserve(args: argparse.Namespace, settings: Settings) -> int:
    from meterstream.budgets import commands
    from meterstream.budgets.client import BudgetClient
    from meterstream.budgets.ledger import too_many_holds
    from meterstream.schemas.budgets import UsageFacts

    facts = UsageFacts(session_id=args.session, user_id=args.user, service=args.service, model=args.model)
    with BudgetClient(settings) as client:
        reply = client.ask(commands.reserve(args.tenant, args.amount, facts,
                                            timedelta(seconds=args.ttl or settings.reservation_ttl_seconds)))
    if (crowded := too_many_holds(reply)) is not None:
        console.print(f"[red]refused:[/] {crowded}")
        return EXIT_REFUSED
    if not reply["granted"]:
        for refusal in reply["refused_by"]:
            console.print(f"[red]refused:[/] budget '{refusal['name']}' ({refusal['budget_id']}) has "
                          f"{_money(refusal['remaining'])} left of {_money(refusal['limit'])}")
        return EXIT_REFUSED
    print(json.dumps(reply, indent=2))
    return 0


def _scope_arguments(parser: argparse.ArgumentParser) -> None:
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--user", help="count one user's usage")
    kind.add_argument("--session", help="count one session's usage")
    kind.add_argument("--api-key", dest="api_key", help="count what one API key records (its key id)")
    kind.add_argument("--attribute", metavar="KEY=VALUE", help="count usage with this attribute, e.g. project=launch")
    parser.add_argument("--service", help="only this service (text, image, video, speech, ...)")
    parser.add_argument("--model", help="only this model")


def _definition_arguments(parser: argparse.ArgumentParser, creating: bool) -> None:
    parser.add_argument("--name", required=creating)
    parser.add_argument("--limit", type=_decimal, required=creating, help="an amount in the tenant's currency")
    parser.add_argument("--period", choices=("day", "week", "month", "lifetime"), default="month" if creating else None)
    parser.add_argument("--thresholds", help="percent of the limit to alert at, comma-separated (default 50,80,100)")
    parser.add_argument("--action", choices=("notify", "block"), default="notify" if creating else None,
                        help="at 100 %%: only alert, or also refuse reservations")
    _scope_arguments(parser)


def register(commands: argparse._SubParsersAction) -> None:
    budgets = commands.add_parser("budgets", help="define budgets and see their live spend (asks the worker)")
    actions = budgets.add_subparsers(dest="verb", required=True)
    for name, text in (("list", "every budget of a tenant"), ("show", "one budget"), ("create", "a new budget"),
                       ("change", "change a budget from the next event on"), ("delete", "delete a budget")):
        action = actions.add_parser(name, help=text)
        action.add_argument("--tenant", required=True)
        if name in ("show", "change", "delete"):
            action.add_argument("budget_id")
        if name in ("create", "change"):
            _definition_arguments(action, creating=name == "create")
        action.add_argument("--json", action="store_true", help="JSON, money as exact decimal strings")
    budgets.set_defaults(handler=_budgets)

    reserve = commands.add_parser("reserve", help="hold budget for a planned call of a known cost")
    reserve.add_argument("--tenant", required=True)
    reserve.add_argument("--amount", type=_decimal, required=True)
    reserve.add_argument("--session", required=True)
    reserve.add_argument("--user")
    reserve.add_argument("--service", default="text")
    reserve.add_argument("--model", default="gemini-2.5-flash")
    reserve.add_argument("--ttl", type=int, help="seconds until the hold is released (default 900)")
    reserve.set_defaults(handler=_reserve)
