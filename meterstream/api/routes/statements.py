"""Monthly statements: list, read, export (JSON, CSV, Beancount, hledger), close; the journal of
closed statements. The rules live in meterstream/statements; these routes only translate.

Ids are the tenant's own (another tenant's id answers 404). A closed statement answers the
bytes it was frozen as, so every read and export of it is byte-identical.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from meterstream.api.auth import CallerDep
from meterstream.api.errors import InvalidRequest
from meterstream.api.routes.common import blocking, problems
from meterstream.api.services import ServicesDep
from meterstream.statements import render
from meterstream.statements.book import NotClosed, StatementBook
from meterstream.statements.model import Statement
from meterstream.statements.periods import InvalidMonth, Month

router = APIRouter(prefix="/v1/statements", tags=["statements"])

StatementIdPath = Annotated[str, Path(min_length=5, max_length=2048, pattern=r"^stm_[A-Za-z0-9_.-]+$")]
AttributeQuery = Annotated[str | None, Query(min_length=1, max_length=64,
                                             description="One statement per value of this attribute (customer=…).")]
MEDIA = {"json": "application/json", "csv": "text/csv; charset=utf-8", "beancount": "text/plain; charset=utf-8",
         "hledger": "text/plain; charset=utf-8"}
SUFFIX = {"json": "json", "csv": "csv", "beancount": "beancount", "hledger": "journal"}


def _month(text: str | None) -> Month:
    if text is None:
        return Month.of(datetime.now(UTC))
    try:
        return Month.parse(text)
    except InvalidMonth as error:
        raise InvalidRequest([{"field": "month", "reason": str(error)}]) from None


def _json(statement: Statement) -> Response:
    return Response(render.to_json(statement), media_type=MEDIA["json"])


def _accounts(book: StatementBook) -> render.Accounts:
    s = book.settings
    return render.Accounts(s.receivable_account, s.income_account, s.adjustments_account)


def _journal(book: StatementBook, statements: list[Statement], kind: str) -> str:
    return (render.beancount if kind == "beancount" else render.hledger)(statements, _accounts(book))


@router.get("", responses=problems(503))
async def list_statements(
    caller: CallerDep, services: ServicesDep,
    month: Annotated[str | None, Query(description="YYYY-MM (UTC); default the current month.")] = None,
    attribute: AttributeQuery = None,
) -> dict[str, list[Statement]]:
    """The month's statements: the tenant's own, or one per value of `attribute`."""
    statements = await blocking(services.statements.list, caller.tenant_id, _month(month), attribute)
    return {"statements": statements}


@router.get("/journal", response_class=Response, responses={**problems(503), 200: {
    "description": "A Beancount ledger or an hledger journal of every closed statement.",
    "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def journal(
    caller: CallerDep, services: ServicesDep,
    format: Literal["beancount", "hledger"] = "beancount",  # noqa: A002 - the query parameter's name
    attribute: AttributeQuery = None,
) -> Response:
    """The double-entry journal of the tenant's closed statements (or of its attribute's)."""
    statements = await blocking(services.statements.journal, caller.tenant_id, attribute)
    text = _journal(services.statements, statements, format)
    name = f"statements-{caller.tenant_id}.{SUFFIX[format]}"
    return Response(text, media_type=MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/{statement_id}", response_model=Statement, responses=problems(404, 503))
async def get_statement(statement_id: StatementIdPath, caller: CallerDep, services: ServicesDep) -> Response:
    """One statement: open (live) or closed (frozen, byte for byte the same on every read)."""
    return _json(await blocking(services.statements.get, caller.tenant_id, statement_id))


@router.get("/{statement_id}/export", response_class=Response, responses={**problems(404, 409, 503), 200: {
    "description": "The statement as JSON, CSV, a Beancount ledger or an hledger journal.",
    "content": {"application/json": {}, "text/csv": {}, "text/plain": {}}}})
async def export_statement(
    statement_id: StatementIdPath, caller: CallerDep, services: ServicesDep,
    format: Literal["json", "csv", "beancount", "hledger"] = "json",  # noqa: A002
) -> Response:
    """JSON and CSV of any statement; the journals of a closed one (409 while it is open)."""
    statement = await blocking(services.statements.get, caller.tenant_id, statement_id)
    if format in ("beancount", "hledger") and statement.state != "closed":
        raise NotClosed(f"statement {statement_id} is open: a journal holds closed statements only; "
                        f"it closes at {statement.closes_at.isoformat()} or when closed")
    body: str | bytes
    if format == "json":
        body = render.to_json(statement)
    elif format == "csv":
        body = render.to_csv([statement])
    else:
        body = _journal(services.statements, [statement], format)
    name = f"{statement.tenant_id}-{statement.month}-{statement_id[-16:]}.{SUFFIX[format]}"
    return Response(body, media_type=MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/{statement_id}/close", response_model=Statement, responses=problems(404, 409, 503))
async def close_statement(statement_id: StatementIdPath, caller: CallerDep, services: ServicesDep) -> Response:
    """Close the statement's month now (with every statement of its month and attribute). Closing
    a closed statement answers it unchanged; a month that has not ended answers 409."""
    return _json(await blocking(services.statements.close, caller.tenant_id, statement_id))
