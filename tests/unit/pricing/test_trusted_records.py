"""The engine builds its records without validating them twice: they must behave like validated ones."""

from meterstream.schemas import CostLine, PricedUsage, SourcePosition
from tests.unit.pricing.builders import price, tokens


def test_an_engine_record_equals_the_same_record_fully_validated():
    priced = price("gemini-2.5-pro", tokens(input_tokens=250_000, cached_input_tokens=10, output_tokens=3))
    assert PricedUsage.model_validate(priced.model_dump()) == priced
    assert all(CostLine.model_validate(line.model_dump()) == line for line in priced.lines)


def test_copying_a_record_with_updates_leaves_other_records_untouched():
    first = price("gemini-2.5-flash", tokens(input_tokens=10))
    second = price("gemini-2.5-flash", tokens(input_tokens=20))
    copied = first.model_copy(update={"source": SourcePosition(topic="t", partition=1, offset=2), "replayed": True})
    assert (copied.source.offset, copied.replayed, first.source, first.replayed) == (2, True, None, False)
    assert first.model_fields_set == second.model_fields_set == set(PricedUsage.model_fields)
    assert copied.model_fields_set == set(PricedUsage.model_fields)
