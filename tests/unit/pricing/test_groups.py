"""Pricing summed quantities (pricing/groups.py): exact, or refused when a line could round."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterstream.pricing import Pricer, load_catalog
from meterstream.pricing.groups import Inexact, PriceShape, Sums, group_cost, price_shape

D = Decimal


def test_summed_tokens_cost_what_their_lines_cost():
    table = {"input": D("0.0000003"), "cached_input": D("0.00000003"), "output": D("0.0000025")}
    sums = Sums(input_tokens=1_000, cached_input_tokens=400, output_tokens=50, thinking_tokens=10)
    assert group_cost(table, "tokens", sums) == 600 * D("0.0000003") + 400 * D("0.00000003") + 60 * D("0.0000025")


def test_a_video_price_with_more_than_6_places_is_refused_as_seconds_carry_6():
    sums = Sums(video_seconds=D("3.000003"))
    assert group_cost({"second": D("0.386667")}, "video", sums, "720p") == D("3.000003") * D("0.386667")
    with pytest.raises(Inexact):
        group_cost({"second": D("0.3866668")}, "video", sums, "720p")
    with pytest.raises(Inexact):
        group_cost({"input": D("0.0000012083337500")}, "tokens", Sums(input_tokens=3))  # 16 places


def test_media_components_are_picked_as_the_engine_picks_them():
    video = {"second": D("0.20"), "second_with_audio": D("0.40")}
    assert group_cost(video, "video", Sums(video_seconds=D(2)), "1080p", with_audio=True) == D("0.80")
    assert group_cost(video, "video", Sums(video_seconds=D(2)), "4k", with_audio=True) is None  # no 4k price
    assert group_cost({"image": D("0.04")}, "images", Sums(images=3), "2k") == D("0.12")
    assert group_cost({"character": D("0.000016")}, "characters", Sums(characters=10)) == D("0.00016")


def test_the_shape_splits_on_every_version_and_knows_the_long_context_class():
    shape = price_shape(Pricer(load_catalog()))
    assert 200_000 in shape.thresholds
    assert datetime(2025, 9, 9, tzinfo=UTC) in shape.boundaries  # Veo 3's price change
    assert PriceShape((100, 200_000), ()).is_long(200_000, 2) and not PriceShape((100, 200_000), ()).is_long(200_000, 1)
    assert shape.period_start(0) is None and shape.period_start(1) == shape.boundaries[0]
