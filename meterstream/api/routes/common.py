"""Pieces the routers share: documented error answers, path parameters, row conversion."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Path, Query, Response
from starlette.concurrency import run_in_threadpool

from meterstream.api.models import OperationOut, Problem

P = ParamSpec("P")
T = TypeVar("T")

_SESSION_ID: dict[str, Any] = {"min_length": 1, "max_length": 128, "pattern": r"^[A-Za-z0-9_.:@/+-]+$"}
SessionIdPath = Annotated[str, Path(**_SESSION_ID)]
SessionIdQuery = Annotated[str | None, Query(**_SESSION_ID)]


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error answers: always 400, 401 and 422, plus the given statuses."""
    descriptions = {
        400: "The body is not JSON.",
        401: "Missing, unknown, revoked or expired API key.",
        403: "The session id belongs to another tenant; or a portal token, which only reads its session.",
        404: "No such session, budget, reservation, webhook, statement or API key for this tenant.",
        409: "The session has ended; or the statement's month has not ended, or the statement is still open.",
        422: "Invalid input; `errors` names each field.",
        503: "Kafka, the worker or ClickHouse did not answer.",
    }
    return {code: {"model": Problem, "description": descriptions[code]} for code in sorted({400, 401, 422, *statuses})}


async def blocking(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a short blocking call (SQLite) off the event loop."""
    return await run_in_threadpool(function, *args, **kwargs)


def utc(value: datetime) -> datetime:
    """ClickHouse may hand back a naive UTC time; make it aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def operation(row: dict[str, Any]) -> OperationOut:
    return OperationOut.model_validate({
        **row,
        "occurred_at": utc(row["occurred_at"]),
        "user_id": row["user_id"] or None,
        "unpriced_reason": row["unpriced_reason"] or None,
    })


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV file (CRLF lines, as RFC 4180): `header`, then each row; None as an empty field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([("" if value is None else value) for value in row] for row in rows)
    return out.getvalue()


def csv_response(text: str, filename: str) -> Response:
    """`text` as a CSV download named `filename`."""
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def csv_or_json(format: str, text: Callable[[], str], filename: str, body: Any) -> Response:
    """The answer of a route with `format=json|csv`: `body` (a model) as JSON, or `text()` as a CSV file."""
    if format == "csv":
        return csv_response(text(), filename)
    return Response(body.model_dump_json(), media_type="application/json")
