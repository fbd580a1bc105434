"""Statements from ClickHouse: build (open), list, read (closed), close, close what is due.

The one place that runs statement queries (queries.py) and writes frozen statements. Rules
come from the pure modules; see ledger.py for where late usage goes and why the checks for
it are cheap, and lease.py for why two closes of one month cannot freeze two statements.

**Closing a unit** (tenant, attribute, month), under its lease:
1. if its marker exists, it is closed: answer the frozen statements (idempotent);
2. take the close instant from ClickHouse's clock, then compute every statement of the unit
   (the month's usage per value, plus adjustments for earlier closed months whose late usage
   goes on this month);
3. insert one row per statement (canonical JSON and content hash, stamped with the instant),
   then the marker: the marker is the commit point, rows of an attempt that died before it
   are never read (ClosedStatements joins on the marker's instant);
4. queue one `statement.closed` webhook per statement with an id derived from the statement
   id (the alert outbox: signed, retried, logged; recording it twice sends it once). A crash
   between 3 and 4 is repaired by the next close call or close-due run, which queues again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clickhouse_connect.driver.client import Client
from pydantic import TypeAdapter

from meterstream.errors import MeterstreamError
from meterstream.statements import queries
from meterstream.statements.lease import CloseLeases
from meterstream.statements.ledger import months_to_recheck, target_month
from meterstream.statements.lines import Usage, UsageRow, usage_by_value
from meterstream.statements.model import InvalidStatementId, Statement, build_statement, canonical, parse_statement_id
from meterstream.statements.periods import Month, closes_at, close_due, has_ended
from meterstream.statements.settings import StatementSettings

log = logging.getLogger(__name__)

# Queues a notification: (notification id, tenant id, type, body JSON) -> True if new.
Notify = Callable[[str, str, str, str], bool]
EVENT_TYPE = "statement.closed"


class StatementError(MeterstreamError):
    """Base of the statement errors the API maps to statuses."""


class StatementNotFound(StatementError):
    """No such statement for this tenant (malformed, or another tenant's id)."""


class MonthNotEnded(StatementError):
    """A statement cannot close before its month has ended."""


class NotClosed(StatementError):
    """A journal holds closed statements only."""


class CloseBusy(StatementError):
    """Another process held the close lease for longer than a close may take."""


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def webhook_message(statement: Statement) -> tuple[str, str]:
    """(id, body) of the statement.closed webhook: the Standard Webhooks envelope with the
    statement's summary in `data` (the statement itself is one GET away). The id is fixed by
    the statement and its content hash, so every retry and re-queue is the same message."""
    data = {
        "statement_id": statement.statement_id, "tenant_id": statement.tenant_id, "month": statement.month,
        "attribute": statement.attribute, "value": statement.value, "closed_at": statement.closed_at,
        "content_hash": statement.content_hash, "events": statement.events, "currency": statement.currency,
        "totals": statement.totals,
        "adjustments": [{"for_month": a.for_month, "totals": a.totals} for a in statement.adjustments],
    }
    body = _JSON.dump_json({"type": EVENT_TYPE, "timestamp": statement.closed_at, "data": data}).decode()
    digest = hashlib.sha256(f"{statement.statement_id}|{statement.content_hash}".encode()).hexdigest()[:32]
    return f"stc_{digest}", body


_JSON: TypeAdapter[Any] = TypeAdapter(Any)


@dataclass
class StatementBook:
    client: Client
    database: str
    settings: StatementSettings
    leases: CloseLeases
    notify: Notify | None = None
    default_currency: str = "USD"
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- reading ---------------------------------------------------------------------------

    def _rows(self, query: Any) -> list[dict[str, Any]]:
        sql, params = query.to_sql()
        result = self.client.query(sql, parameters=params)
        return [dict(zip(result.column_names, row)) for row in result.result_rows]

    def closes(self, tenant_id: str, attribute: str) -> dict[Month, datetime]:
        return {Month.parse(r["month"]): _utc(r["closed_at"])
                for r in self._rows(queries.Closes(self.database, tenant_id, attribute))}

    def _frozen(self, tenant_id: str, attribute: str, **where: Any) -> list[Statement]:
        rows = self._rows(queries.ClosedStatements(self.database, tenant_id, attribute, **where))
        return [Statement.model_validate_json(r["content"]) for r in rows]

    def _usage(self, tenant_id: str, attribute: str, month: Month) -> dict[str, Usage]:
        rows = self._rows(queries.StatementUsage(self.database, tenant_id, month.yyyymm, attribute or None))
        return usage_by_value(UsageRow(**row) for row in rows)

    def _late(self, tenant_id: str, attribute: str, month: Month,
              closes: Mapping[Month, datetime]) -> dict[str, dict[Month, Usage]]:
        """Per value, the late usage of earlier closed months that goes on `month`'s statements."""
        earlier = {m: at for m, at in closes.items() if m < month}
        if not earlier:
            return {}
        stored = {Month(r["month"] // 100, r["month"] % 100): _utc(r["last_stored"]) for r in self._rows(
            queries.LastStored(self.database, tenant_id, tuple(m.yyyymm for m in sorted(earlier))))}
        months = [m for m in months_to_recheck(closes, stored) if m < month and target_month(m, closes) == month]
        if not months:
            return {}
        billed: dict[tuple[Month, str], Usage] = {}
        for s in self._frozen(tenant_id, attribute, since=str(months[0])):
            value = s.value or ""
            own = Month.parse(s.month)
            billed[(own, value)] = billed.get((own, value), Usage()) + s.billed_usage()
            for for_month, usage in s.billed_adjustments().items():
                billed[(for_month, value)] = billed.get((for_month, value), Usage()) + usage
        late: dict[str, dict[Month, Usage]] = {}
        for m in months:
            for value, now_usage in self._usage(tenant_id, attribute, m).items():
                extra = now_usage - billed.get((m, value), Usage())
                if extra:
                    late.setdefault(value, {})[m] = extra
        return late

    def _compute(self, tenant_id: str, attribute: str, month: Month, closes: Mapping[Month, datetime],
                 closed_at: datetime | None = None) -> list[Statement]:
        usage = self._usage(tenant_id, attribute, month)
        late = self._late(tenant_id, attribute, month, closes)
        return [
            build_statement(tenant_id=tenant_id, month=month, attribute=attribute or None,
                            value=value if attribute else None, usage=usage.get(value, Usage()),
                            adjustments=late.get(value, {}), closes_at=closes_at(month, self.settings.grace),
                            default_currency=self.default_currency, closed_at=closed_at)
            for value in sorted(set(usage) | set(late))
        ]

    def list(self, tenant_id: str, month: Month, attribute: str | None = None) -> list[Statement]:
        """The month's statements: the tenant's one, or one per value of `attribute`."""
        attribute = attribute or ""
        closes = self.closes(tenant_id, attribute)
        if month in closes:
            return self._frozen(tenant_id, attribute, month=str(month))
        return self._compute(tenant_id, attribute, month, closes)

    def get(self, tenant_id: str, statement_id: str) -> Statement:
        month, attribute, value = self._parse(tenant_id, statement_id)
        closes = self.closes(tenant_id, attribute or "")
        if month in closes:
            found = self._frozen(tenant_id, attribute or "", month=str(month), value=value or "")
            if found:
                return found[0]
        else:
            for statement in self._compute(tenant_id, attribute or "", month, closes):
                if statement.statement_id == statement_id:
                    return statement
        # Nothing used or adjusted: the statement is empty, and it exists all the same.
        return build_statement(tenant_id=tenant_id, month=month, attribute=attribute, value=value, usage=Usage(),
                               adjustments={}, closes_at=closes_at(month, self.settings.grace),
                               default_currency=self.default_currency, closed_at=closes.get(month))

    def journal(self, tenant_id: str, attribute: str | None = None) -> list[Statement]:
        """Every closed statement of the tenant (or of its `attribute` values), oldest first."""
        return self._frozen(tenant_id, attribute or "")

    @staticmethod
    def _parse(tenant_id: str, statement_id: str) -> tuple[Month, str | None, str | None]:
        try:
            return parse_statement_id(statement_id, tenant_id)
        except InvalidStatementId as error:
            raise StatementNotFound(f"statement {statement_id} not found") from error

    # -- closing ---------------------------------------------------------------------------

    def close(self, tenant_id: str, statement_id: str) -> Statement:
        """Close the statement's unit (every statement of its month and attribute) and answer it.
        Closing a closed statement answers it unchanged."""
        month, attribute, _ = self._parse(tenant_id, statement_id)
        if not has_ended(month, self.clock()):
            raise MonthNotEnded(f"{month} has not ended; its statements can close from {month.end.isoformat()}")
        self.close_unit(tenant_id, attribute or "", month)
        return self.get(tenant_id, statement_id)

    def close_unit(self, tenant_id: str, attribute: str, month: Month) -> list[Statement]:
        unit = f"{self.database}|{tenant_id}|{attribute}|{month}"
        closes = self.closes(tenant_id, attribute)
        if month not in closes:
            try:
                token = self.leases.acquire(unit)
            except TimeoutError as error:
                raise CloseBusy(f"{error}; try again") from error
            try:
                closes = self.closes(tenant_id, attribute)  # another closer may have finished meanwhile
                if month not in closes:
                    return self._freeze(tenant_id, attribute, month, closes)
            finally:
                self.leases.release(unit, token)
        statements = self._frozen(tenant_id, attribute, month=str(month))
        self._announce(statements)  # a crash after the marker and before the webhook: queue it now
        return statements

    def _freeze(self, tenant_id: str, attribute: str, month: Month, closes: Mapping[Month, datetime]) -> list[Statement]:
        (closed_at,), = self.client.query(queries.now_sql()).result_rows
        closed_at = _utc(closed_at)
        statements = self._compute(tenant_id, attribute, month, closes, closed_at=closed_at)
        if statements:
            self.client.insert(f"{self.database}.statements", [
                [tenant_id, attribute, str(month), s.value or "", closed_at, s.statement_id,
                 s.canonical_json().decode(), s.content_hash] for s in statements],
                column_names=queries.STATEMENT_COLUMNS)
        self.client.insert(f"{self.database}.statement_closes", [[tenant_id, attribute, str(month), closed_at,
                                                                  len(statements)]],
                           column_names=queries.CLOSE_COLUMNS)
        log.info("closed %s %s%s: %d statements at %s", tenant_id, month, f" by {attribute}" if attribute else "",
                 len(statements), closed_at.isoformat())
        self._announce(statements)
        return statements

    def _announce(self, statements: list[Statement]) -> None:
        if self.notify is None:
            return
        for s in statements:
            message_id, body = webhook_message(s)
            self.notify(message_id, s.tenant_id, EVENT_TYPE, body)

    def close_due(self) -> list[tuple[str, str, Month]]:
        """Close every unit whose month's grace period has passed, oldest month first: for each
        tenant with usage in or before that month, its tenant-wide statements and those of the
        configured attributes. Looks back `CLOSE_DUE_MONTHS`. Returns the units closed now."""
        now = self.clock()
        due = []
        month = Month.of(now).previous()
        while len(due) < CLOSE_DUE_MONTHS:
            if close_due(month, now, self.settings.grace):
                due.append(month)
            month = month.previous()
        closed = {(r["tenant_id"], r["attribute"], r["month"]) for r in self._rows(
            queries.ClosedUnits(self.database, tuple(str(m) for m in due)))}
        first = {r["tenant_id"]: r["first_month"] for r in self._rows(queries.TenantFirstMonths(self.database))}
        done: list[tuple[str, str, Month]] = []
        for month in sorted(due):
            for tenant_id, first_month in sorted(first.items()):
                if first_month > month.yyyymm:
                    continue
                for attribute in ["", *self.settings.attributes]:
                    if (tenant_id, attribute, str(month)) not in closed:
                        self.close_unit(tenant_id, attribute, month)
                        done.append((tenant_id, attribute, month))
        return done


# How far back close_due looks for months still open past their grace period (a closer that
# was not running for a while catches up on its next run).
CLOSE_DUE_MONTHS = 24


__all__ = ["EVENT_TYPE", "CloseBusy", "MonthNotEnded", "NotClosed", "StatementBook", "StatementError", "StatementNotFound",
           "canonical", "webhook_message"]
