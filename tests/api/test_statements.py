"""Statements through the API on the real stack: usage recorded with POST /v1/usage for October
2026 (ended, so closable), read back as statements, closed, exported, and a late event after
the close landing once on the next statement. Every route sees only the caller's tenant, and a
close sends a statement.closed webhook verified with the `standardwebhooks` package."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from meterstream.statements.model import statement_id
from meterstream.statements.periods import Month
from tests.alerting import Receiver
from tests.api.conftest import ApiStack, eventually

pytestmark = pytest.mark.integration

IMAGES = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 2}}
OCTOBER = "2026-10-12T10:00:00Z"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def record(api_stack: ApiStack, client: httpx.Client, *events: dict) -> None:
    assert api_stack.pipeline.sink is not None
    before = api_stack.pipeline.sink.runner.counts.stored
    for event in events:
        answer = client.post("/v1/usage", json={"session_id": f"s-{uuid.uuid4().hex[:6]}", **event})
        assert answer.status_code in (200, 201, 202), answer.text
    api_stack.wait_stored(before + len(events))


def october(client: httpx.Client, attribute: str | None = None) -> list[dict]:
    params = {"month": "2026-10", **({"attribute": attribute} if attribute else {})}
    answer = client.get("/v1/statements", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["statements"]


def test_recorded_usage_is_on_the_open_statement_of_its_month(api_stack, tenant) -> None:
    tenant_id, client = tenant
    record(api_stack, client, {**IMAGES, "occurred_at": OCTOBER}, {**IMAGES, "occurred_at": OCTOBER})

    (statement,) = eventually(lambda: [s for s in october(client) if s["events"] == 2], what="the statement")

    assert statement["state"] == "open" and statement["tenant_id"] == tenant_id
    assert [(i["model"], i["quantity"], i["unit_price"], i["amount"]) for i in statement["lines"]] == [
        ("imagen-4.0-generate", "4", "0.04", "0.16")]
    assert statement["totals"] == [{"currency": "USD", "amount": "0.16"}]
    assert client.get(f"/v1/statements/{statement['statement_id']}").json() == statement


def test_close_then_a_late_event_is_one_adjustment_on_november_and_october_stays_byte_identical(
        api_stack, tenant) -> None:
    tenant_id, client = tenant
    record(api_stack, client, {**IMAGES, "occurred_at": OCTOBER, "attributes": {"customer": "globex"}})
    sid = statement_id(tenant_id, Month(2026, 10), "customer", "globex")
    closed = client.post(f"/v1/statements/{sid}/close")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    exports = {f: client.get(f"/v1/statements/{sid}/export", params={"format": f}).content
               for f in ("json", "csv", "beancount", "hledger")}

    event = {**IMAGES, "occurred_at": OCTOBER, "attributes": {"customer": "globex"}, "event_id": str(uuid.uuid4())}
    record(api_stack, client, event)
    client.post("/v1/usage", json={"session_id": "again", **event})  # the same event sent again: harmless

    after = {f: client.get(f"/v1/statements/{sid}/export", params={"format": f}).content for f in exports}
    assert after == exports and exports["json"] == closed.content
    november = client.get("/v1/statements", params={"month": "2026-11", "attribute": "customer"}).json()
    (statement,) = november["statements"]
    assert (statement["value"], statement["lines"]) == ("globex", [])
    assert [(a["for_month"], a["events"], a["totals"]) for a in statement["adjustments"]] == [
        ("2026-10", 1, [{"currency": "USD", "amount": "0.08"}])]
    assert client.post(f"/v1/statements/{sid}/close").content == closed.content  # closing again: the same


def test_csv_export_has_one_row_per_line_and_money_as_plain_decimals(api_stack, tenant) -> None:
    tenant_id, client = tenant
    record(api_stack, client, {"service": "text", "model": "gemini-2.5-flash", "occurred_at": OCTOBER,
                               "usage": {"unit": "tokens", "input_tokens": 1000, "output_tokens": 100}})
    sid = statement_id(tenant_id, Month(2026, 10), None, None)
    answer = client.get(f"/v1/statements/{sid}/export", params={"format": "csv"})
    assert answer.headers["content-type"].startswith("text/csv")
    rows = [(r["kind"], r["component"], r["quantity"], r["unit_price"], r["amount"])
            for r in csv.DictReader(io.StringIO(answer.text))]
    assert rows == [("line", "input", "1000", "0.0000003", "0.0003"), ("line", "output", "100", "0.0000025", "0.00025"),
                    ("subtotal", "", "", "", "0.00055"), ("total", "", "", "", "0.00055")]
    assert Decimal(rows[-1][4]) == Decimal("0.0003") + Decimal("0.00025")


def test_a_journal_of_an_open_statement_is_refused(tenant) -> None:
    tenant_id, client = tenant
    sid = statement_id(tenant_id, Month(2026, 9), None, None)
    answer = client.get(f"/v1/statements/{sid}/export", params={"format": "beancount"})
    assert answer.status_code == 409 and "open" in answer.json()["detail"]


def test_the_running_month_cannot_be_closed(tenant) -> None:
    tenant_id, client = tenant
    from datetime import UTC, datetime

    sid = statement_id(tenant_id, Month.of(datetime.now(UTC)), None, None)
    answer = client.post(f"/v1/statements/{sid}/close")
    assert answer.status_code == 409 and "has not ended" in answer.json()["detail"]


@pytest.mark.parametrize(("params", "field"), [({"month": "2026-13"}, "month"), ({"month": "Oct"}, "month"),
                                                ({"attribute": ""}, "attribute")])
def test_bad_input_names_the_field(tenant, params, field) -> None:
    _, client = tenant
    answer = client.get("/v1/statements", params=params)
    assert answer.status_code == 422
    assert [e["field"].removeprefix("query.") for e in answer.json()["errors"]] == [field]


def test_bad_export_format_names_the_field(tenant) -> None:
    tenant_id, client = tenant
    sid = statement_id(tenant_id, Month(2026, 10), None, None)
    answer = client.get(f"/v1/statements/{sid}/export", params={"format": "pdf"})
    assert answer.status_code == 422 and [e["field"] for e in answer.json()["errors"]] == ["query.format"]


def test_every_statement_route_hides_other_tenants(api_stack, tenant) -> None:
    tenant_id, client = tenant
    record(api_stack, client, {**IMAGES, "occurred_at": OCTOBER})
    sid = statement_id(tenant_id, Month(2026, 10), None, None)
    _, other_key = api_stack.new_tenant()
    with api_stack.client(other_key) as other:
        assert other.get(f"/v1/statements/{sid}").status_code == 404
        assert other.get(f"/v1/statements/{sid}/export").status_code == 404
        assert other.post(f"/v1/statements/{sid}/close").status_code == 404
        assert october(other) == []
        assert "Statement" not in other.get("/v1/statements/journal").text
    assert client.get(f"/v1/statements/{sid}").json()["state"] == "open"  # the other's close did nothing
    with api_stack.client(None) as anonymous:
        assert anonymous.get("/v1/statements").status_code == 401


def test_closing_sends_a_signed_statement_closed_webhook(api_stack, tenant, receiver) -> None:
    tenant_id, client = tenant
    created = client.post("/v1/webhooks", json={"url": receiver.url(f"/{tenant_id}")}).json()
    receiver.route(f"/{tenant_id}", created["secret"])
    record(api_stack, client, {**IMAGES, "occurred_at": OCTOBER})
    sid = statement_id(tenant_id, Month(2026, 10), None, None)

    closed = client.post(f"/v1/statements/{sid}/close").json()
    client.post(f"/v1/statements/{sid}/close")  # again: no second message

    (received,) = eventually(lambda: receiver.at(f"/{tenant_id}"), what="the webhook")
    assert received.payload is not None, "the signature did not verify"
    assert received.payload["type"] == "statement.closed"
    assert {k: received.payload["data"][k] for k in ("statement_id", "content_hash", "totals")} == {
        "statement_id": sid, "content_hash": closed["content_hash"], "totals": [{"currency": "USD", "amount": "0.08"}]}
    log = eventually(lambda: [d for d in client.get(f"/v1/webhooks/{created['webhook_id']}/deliveries").json()[
        "deliveries"] if d["status"] == "delivered"], what="the delivery log")
    assert [d["alert_id"] for d in log] == [received.webhook_id]
    assert len(receiver.at(f"/{tenant_id}")) == 1
