"""Which stored usage re-pricing reads from the table's projection, and the SQL it reads it with."""

from datetime import UTC, datetime

import pytest

from meterstream.pricing import Pricer, load_catalog
from meterstream.pricing.groups import QUANTITIES, PriceShape, price_shape
from meterstream.pricing.plan import OPEN_END
from meterstream.sinks.clickhouse.migrations import REPRICE_PROJECTION_SUMS, REPRICE_PROJECTION_THRESHOLDS
from meterstream.sinks.clickhouse.reprice import (
    ProjectedGroupsQuery,
    RepriceGroupsQuery,
    UsageFilter,
    merged_partitions,
    month_of,
    outside,
    projection_spans,
    whole_months,
)


def at(month: int, day: int = 1, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


SHAPE = PriceShape(thresholds=(200_000,), boundaries=(at(1), at(3, 20), OPEN_END))
MARCH, APRIL, JUNE = (at(3), at(4)), (at(4), at(5)), (at(6), at(7))


def test_the_packaged_catalog_needs_no_threshold_the_projection_lacks():
    assert set(price_shape(Pricer(load_catalog())).thresholds) <= set(REPRICE_PROJECTION_THRESHOLDS)


def test_the_projection_sums_every_quantity_re_pricing_needs():
    assert REPRICE_PROJECTION_SUMS == QUANTITIES


@pytest.mark.parametrize(("partition", "month"), [
    ("202603", MARCH), ("202612", (at(12), datetime(2027, 1, 1, tzinfo=UTC))), ("202613", None), ("all", None),
    ("20260301", None),
])
def test_a_partition_id_names_its_month(partition, month):
    assert month_of(partition) == month


def test_a_month_inside_the_range_is_read_whole_from_the_projection():
    assert projection_spans(UsageFilter(start=at(3), end=at(4)), SHAPE, [MARCH, JUNE]) == (MARCH,)


def test_touching_merged_months_are_one_span():
    assert projection_spans(UsageFilter(), SHAPE, [APRIL, MARCH, JUNE]) == ((at(3), at(5)), JUNE)


def test_a_range_off_the_hour_leaves_its_partial_hours_to_the_scan():
    usage = UsageFilter(start=at(3, 2, 5, 30), end=at(3, 9, 7, 15))
    spans = projection_spans(usage, SHAPE, [MARCH])
    assert spans == ((at(3, 2, 6), at(3, 9, 7)),)
    assert outside(usage, spans) == ((at(3, 2, 5, 30), at(3, 2, 6)), (at(3, 9, 7), at(3, 9, 7, 15)))


def test_a_month_covered_by_the_projection_leaves_nothing_to_scan():
    assert outside(UsageFilter(start=at(3), end=at(4)), (MARCH,)) == ()


def test_an_unbounded_range_scans_everything_around_the_spans():
    assert outside(UsageFilter(), (MARCH, JUNE)) == ((None, at(3)), (at(4), at(6)), (at(7), None))


@pytest.mark.parametrize(("usage", "shape"), [
    pytest.param(UsageFilter(session_id="s1"), SHAPE, id="a session: the projection has none"),
    pytest.param(UsageFilter(), PriceShape((128_000, 200_000), SHAPE.boundaries), id="a threshold it lacks"),
    pytest.param(UsageFilter(), PriceShape((200_000,), (at(3, 20, 12, 30),)), id="a price change off the hour"),
])
def test_what_the_projection_cannot_group_is_scanned(usage, shape):
    assert projection_spans(usage, shape, [MARCH]) == ()


def test_the_projected_query_reads_without_final_over_the_projections_own_expressions():
    sql, params = ProjectedGroupsQuery("ms", SHAPE, (MARCH,), tenant_id="acme").to_sql()
    assert "FROM ms.usage_events WHERE tenant_id = {tenant_id:String} AND ((toStartOfHour(occurred_at) >= " in sql
    assert "FINAL" not in sql
    assert "toUInt32((input_tokens + tool_use_prompt_tokens > 200000)) AS prompt_class" in sql
    # one boundary at or before March (a constant), one inside it: compared with the hour
    assert "toUInt32(1 + (toStartOfHour(occurred_at) >= {boundary_0:DateTime64(6, 'UTC')})) AS price_period" in sql
    assert params == {"span_from_0": "2026-03-01 00:00:00.000000", "span_to_0": "2026-04-01 00:00:00.000000",
                      "tenant_id": "acme", "boundary_0": "2026-03-20 00:00:00.000000"}


def test_the_scan_reads_only_what_the_projection_does_not():
    sql, params = RepriceGroupsQuery("ms", SHAPE, UsageFilter(start=at(3), end=at(5)), within=((at(4), None),)).to_sql()
    assert "FINAL WHERE occurred_at < {end:DateTime64(6, 'UTC')} AND occurred_at >= {start:DateTime64(6, 'UTC')} " \
           "AND ((occurred_at >= {within_from_0:DateTime64(6, 'UTC')}))" in sql
    assert params["within_from_0"] == "2026-04-01 00:00:00.000000"


@pytest.mark.parametrize(("start", "end", "months"), [
    pytest.param(at(3), at(4), ["202603"], id="one month"),
    pytest.param(at(3, 2), at(6, 15), ["202604", "202605"], id="only the whole ones"),
    pytest.param(datetime(2026, 11, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC), ["202611", "202612", "202701"],
                 id="across a year"),
    pytest.param(at(3, 1), at(3, 31), [], id="none whole"),
])
def test_the_months_merged_before_re_pricing_are_those_wholly_in_the_range(start, end, months):
    assert whole_months(start, end) == months


def test_only_a_partition_of_one_merged_part_counts_as_merged():
    parts = [{"partition_id": "202603", "name": "202603_1_9_2", "level": 2},
             {"partition_id": "202604", "name": "202604_10_12_1", "level": 1},
             {"partition_id": "202604", "name": "202604_13_13_0", "level": 0},  # inserted after the merge
             {"partition_id": "202605", "name": "202605_14_14_0", "level": 0}]  # one part, never merged
    assert merged_partitions(parts) == {"202603": "202603_1_9_2"}
