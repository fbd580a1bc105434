"""The original tracker's call and shapes, translated (pure)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterstream.compat.legacy import event_of, render, session_summary, usage_stats
from meterstream.errors import InvalidUsageEvent
from meterstream.schemas import SessionTotals, parse_usage_event
from meterstream.schemas.totals import ServiceTotals


@pytest.mark.parametrize(("service", "fields", "usage"), [
    ("text", {"input_tokens": 1200, "output_tokens": 300}, {"unit": "tokens", "input_tokens": 1200, "output_tokens": 300}),
    ("image", {"number_of_images": 2}, {"unit": "images", "images": 2}),
    ("image", {}, {"unit": "images", "images": 1}),
    ("video", {"duration_seconds": 8}, {"unit": "video", "seconds": 8}),
    ("tts", {"character_count": 420}, {"unit": "characters", "characters": 420}),
])
def test_an_old_call_becomes_a_valid_usage_event(service, fields, usage):
    event = event_of("s1", "some-model", service, "generate", fields)
    assert event["usage"] == usage
    assert event["operation"] == "generate"
    parsed = parse_usage_event({**event, "tenant_id": "t"})
    assert parsed.service.value == ("speech" if service == "tts" else service)


def test_fields_of_two_units_or_none_are_refused_naming_usage():
    with pytest.raises(InvalidUsageEvent) as several:
        event_of("s1", "m", "text", None, {"input_tokens": 1, "number_of_images": 1})
    assert several.value.errors[0]["field"] == "usage"
    with pytest.raises(InvalidUsageEvent):
        event_of("s1", "m", "text", None, {})


def test_other_old_fields_are_kept_as_attributes_and_known_ones_pass():
    event = event_of("s1", "m", "image", None, {"number_of_images": 1, "prompt_id": 7, "style": "noir",
                                                 "user_id": "amira"})
    assert event["attributes"] == {"prompt_id": "7", "style": "noir"}
    assert event["user_id"] == "amira"


def test_usage_stats_has_exactly_the_old_shape_with_exact_numbers():
    totals = SessionTotals(tenant_id="t", session_id="s1", total_cost=Decimal("0.080001496"), operations=3,
                           by_service={"image": ServiceTotals(operations=2, cost=Decimal("0.08"), models=["imagen"]),
                                       "text": ServiceTotals(operations=1, cost=Decimal("0.000001496"),
                                                             models=["gemini"])})
    assert render(usage_stats("s1", True, totals)) == (
        b'{"session_active": true, "session_id": "s1", "total_cost": 0.080001496, "total_operations": 3, '
        b'"services_breakdown": {"image": {"operations": 2, "cost": 0.08, "models": ["imagen"]}, '
        b'"text": {"operations": 1, "cost": 0.000001496, "models": ["gemini"]}}}')
    assert render(usage_stats("s2", True, None)) == (
        b'{"session_active": true, "session_id": "s2", "total_cost": 0, "total_operations": 0, '
        b'"services_breakdown": {}}')


def test_session_summary_has_exactly_the_old_shape():
    start, end = datetime(2026, 11, 3, 9, 0, tzinfo=UTC), datetime(2026, 11, 3, 9, 5, tzinfo=UTC)
    rows = [{"service": "video", "operations": 2, "cost": Decimal("3.2"), "models": ["veo-3.0-generate"]},
            {"service": "image", "operations": 1, "cost": Decimal("0.04"), "models": ["imagen-4.0-generate"]}]
    assert session_summary("s1", start, end, rows) == {
        "session_id": "s1", "start_time": "2026-11-03T09:00:00+00:00", "end_time": "2026-11-03T09:05:00+00:00",
        "total_operations": 3, "total_cost_usd": Decimal("3.24"), "services_used": ["image", "video"],
        "models_used": ["imagen-4.0-generate", "veo-3.0-generate"]}


def test_render_writes_decimals_digit_for_digit_never_through_a_float():
    assert render({"a": Decimal("0.1") + Decimal("0.2"), "b": Decimal("3E-7"), "c": "x", "d": None}) == (
        b'{"a": 0.3, "b": 0.0000003, "c": "x", "d": null}')
    assert render([Decimal("12345678901234567890.123456789012")]) == b"[12345678901234567890.123456789012]"
