"""Money in API answers: exact decimal text, never a float or an exponent; CSV export columns."""

import csv
import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterstream.api.models import OperationOut, SessionStats, money_text
from meterstream.api.routes.sessions import operations_csv
from meterstream.schemas import SessionTotals


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("3E-7"), "0.0000003"),
    (Decimal("0.120000000000"), "0.12"),
    (Decimal("100"), "100"),
    (Decimal("0E-12"), "0"),
    (Decimal("-1.50"), "-1.5"),
])
def test_money_is_plain_decimal_text(value: Decimal, text: str) -> None:
    assert money_text(value) == text


def test_stats_serialize_money_as_strings_and_hide_the_tenant() -> None:
    totals = SessionTotals(tenant_id="acme", session_id="s", total_cost=Decimal("0.000000062500"))
    body = SessionStats.of(totals).model_dump(mode="json")
    assert body["total_cost"] == "0.0000000625" and "tenant_id" not in body


def _operation(**changes) -> OperationOut:
    base = dict(
        event_id=uuid.uuid4(), occurred_at=datetime(2026, 3, 1, tzinfo=UTC), session_id="s", user_id=None,
        service="text", operation="generate", provider="google", model="gemini-2.5-flash", billing_unit="tokens",
        billing_mode="standard", input_tokens=1000, output_tokens=500, cached_input_tokens=200, thinking_tokens=0,
        audio_input_tokens=0, tool_use_prompt_tokens=0, images=0, video_seconds=Decimal(0), characters=0,
        cost=Decimal("0.001496000000"), cost_lines={"input": Decimal("0.00024"), "output": Decimal("0.00125"),
                                                    "cached_input": Decimal("0.000006")},
        currency="USD", catalog_version="v", pricing_status="priced", unpriced_reason=None,
        attributes={"campaign": "spring"},
    )
    return OperationOut(**{**base, **changes})


def test_csv_export_has_a_cost_column_per_component_and_plain_money() -> None:
    rows = list(csv.DictReader(io.StringIO(operations_csv([
        _operation(), _operation(service="image", cost=Decimal("0.04"), cost_lines={"image": Decimal("0.04")},
                                 attributes={}),
    ]))))
    assert [r["cost"] for r in rows] == ["0.001496", "0.04"]
    assert (rows[0]["cost_cached_input"], rows[0]["cost_image"], rows[1]["cost_image"]) == ("0.000006", "", "0.04")
    assert rows[0]["attributes"] == '{"campaign": "spring"}' and rows[1]["attributes"] == ""
    assert rows[0]["user_id"] == "" and rows[0]["occurred_at"] == "2026-03-01T00:00:00Z"
