from datetime import UTC, datetime, timedelta, timezone

import pytest

from meterstream.errors import InvalidUsageEvent
from meterstream.schemas import TokenUsage, UsageEvent, parse_usage_event


def event_dict(**overrides):
    base = {
        "tenant_id": "acme", "session_id": "s1", "service": "text", "model": "gemini-2.5-flash",
        "usage": {"unit": "tokens", "input_tokens": 100, "output_tokens": 20},
    }
    return {**base, **overrides}


def fields_of(error: InvalidUsageEvent) -> set[str]:
    return {item["field"] for item in error.errors}


def test_a_valid_event_gets_a_generated_event_id_and_the_current_schema_version():
    event = parse_usage_event(event_dict())
    assert event.event_id.version == 4
    assert event.schema_version == 1


def test_json_round_trip_is_lossless():
    event = parse_usage_event(event_dict(service="video", usage={"unit": "video", "seconds": "8.5", "with_audio": False}))
    assert parse_usage_event(event.model_dump_json().encode()) == event


@pytest.mark.parametrize(("service", "usage"), [
    ("video", {"unit": "tokens", "input_tokens": 10}),
    ("text", {"unit": "images", "images": 1}),
    ("image", {"unit": "video", "seconds": "4"}),
    ("text", {"unit": "characters", "characters": 10}),
])
def test_a_unit_that_does_not_fit_the_service_is_refused_naming_the_service(service, usage):
    with pytest.raises(InvalidUsageEvent) as caught:
        parse_usage_event(event_dict(service=service, usage=usage))
    assert fields_of(caught.value) == {"service"}
    assert f"does not fit service '{service}'" in caught.value.errors[0]["reason"]


@pytest.mark.parametrize(("service", "usage"), [
    ("image", {"unit": "tokens", "output_tokens": 1290}),  # native image output is token-priced
    ("speech", {"unit": "tokens", "output_tokens": 10}),  # Gemini TTS
    ("other", {"unit": "video", "seconds": "1"}),
])
def test_units_that_fit_their_service_are_accepted(service, usage):
    assert parse_usage_event(event_dict(service=service, usage=usage)).service.value == service


def test_occurred_at_is_normalized_to_utc():
    plus_two = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    event = parse_usage_event(event_dict(occurred_at=plus_two.isoformat()))
    assert event.occurred_at == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)


def test_a_naive_timestamp_is_rejected_naming_the_field():
    with pytest.raises(InvalidUsageEvent) as caught:
        parse_usage_event(event_dict(occurred_at="2026-01-01T00:00:00"))
    assert fields_of(caught.value) == {"occurred_at"}


def test_a_timestamp_far_in_the_future_is_rejected():
    with pytest.raises(InvalidUsageEvent, match="future"):
        parse_usage_event(event_dict(occurred_at=(datetime.now(UTC) + timedelta(days=2)).isoformat()))


def test_a_negative_quantity_is_rejected_naming_the_field():
    with pytest.raises(InvalidUsageEvent) as caught:
        parse_usage_event(event_dict(usage={"unit": "images", "images": -1}))
    assert fields_of(caught.value) == {"usage.images.images"}


def test_an_unknown_billing_unit_is_rejected_naming_the_union_tag():
    with pytest.raises(InvalidUsageEvent) as caught:
        parse_usage_event(event_dict(usage={"unit": "furlongs", "count": 3}))
    assert fields_of(caught.value) == {"usage"}
    assert "furlongs" in str(caught.value)


def test_cached_tokens_cannot_exceed_the_prompt_that_includes_them():
    with pytest.raises(InvalidUsageEvent, match="cached_input_tokens cannot exceed"):
        parse_usage_event(event_dict(usage={"unit": "tokens", "input_tokens": 10, "cached_input_tokens": 11}))


def test_unknown_fields_are_rejected_so_typos_do_not_vanish():
    with pytest.raises(InvalidUsageEvent) as caught:
        parse_usage_event(event_dict(sesion_id="typo"))
    assert fields_of(caught.value) == {"sesion_id"}


def test_every_missing_required_field_is_reported_at_once():
    with pytest.raises(InvalidUsageEvent) as caught:
        parse_usage_event({"usage": {"unit": "tokens"}})
    assert fields_of(caught.value) == {"tenant_id", "session_id", "service", "model"}


def test_bytes_that_are_not_json_are_reported_as_invalid_json():
    with pytest.raises(InvalidUsageEvent, match="Invalid JSON"):
        parse_usage_event(b"\xff\xfe not json")


def test_token_usage_defaults_to_zero_counts():
    assert TokenUsage().input_tokens == 0
    assert isinstance(parse_usage_event(event_dict()), UsageEvent)
