"""Re-pricing by summed quantities (run_reprice) equals re-pricing row by row (per_row=True) to
the last digit, in the real (embedded) ClickHouse engine, for random stored usage.

The usage spans August and September 2025, when Imagen 4 (14 August) and Veo 3 (9 September)
changed prices; it mixes token kinds (long prompts above 200,000, audio, cached audio, image
output, inconsistent counts the engine leaves unpriced), images and video at several
resolutions, speech voice tiers, batch and free modes, an unknown model, rows stored twice (in
the same insert and in a later one: FINAL counts them once), a tenant with a discount that
groups price exactly and one whose odd discount gives prices too fine for that (its rows go
row by row), model swaps, a time range and `as_of`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterstream.pricing import Pricer, TenantBook, TenantPricing, load_catalog
from meterstream.pricing.plan import build_plan
from meterstream.schemas import BillingMode, CharacterUsage, ImageUsage, Service, TokenUsage, UsageEvent, VideoUsage
from meterstream.sinks.clickhouse import connect, migrate
from meterstream.sinks.clickhouse.reprice import UsageFilter, per_row_rate_keys, run_reprice
from meterstream.sinks.clickhouse.rows import COLUMNS, to_row
from tests.conftest import unique_name

pytestmark = pytest.mark.integration

D = Decimal
TICK = timedelta(microseconds=1)
# Instants around each price change and each edge of the tested ranges, and between them.
INSTANTS = [datetime(2025, 8, 1, tzinfo=UTC), datetime(2025, 8, 10, tzinfo=UTC) - TICK, datetime(2025, 8, 10, tzinfo=UTC),
            datetime(2025, 8, 14, tzinfo=UTC) - TICK, datetime(2025, 8, 14, tzinfo=UTC), datetime(2025, 8, 25, tzinfo=UTC),
            datetime(2025, 9, 9, tzinfo=UTC) - TICK, datetime(2025, 9, 9, tzinfo=UTC), datetime(2025, 9, 15, tzinfo=UTC),
            datetime(2025, 9, 20, tzinfo=UTC) - TICK, datetime(2025, 9, 20, tzinfo=UTC), datetime(2025, 9, 29, tzinfo=UTC)]
TENANTS = TenantBook(tenants={
    "vip": TenantPricing(adjustment_percent=D("-12.5"), custom_prices={"gemini-2.5-flash": {"output": D("2.00")}}),
    "odd": TenantPricing(adjustment_percent=D("-3.3333")),  # 0.40/s → 0.3866668/s: a video line may round
})
PRICER = Pricer(load_catalog(), TENANTS)
MODELS = {
    "tokens": ["gemini-2.5-pro", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash", "models/gemini-2.0-flash-001",
               "gemini-2.5-flash-image", "mystery-model"],
    "images": ["imagen-4.0-generate", "imagen-4.0-ultra-generate", "imagen-4.0-fast-generate"],
    "video": ["veo-3.0-generate", "veo-3.0-fast-generate", "veo-3.1-generate", "veo-2.0-generate"],
    "characters": ["cloud-tts"],
}
SERVICES = {"tokens": Service.TEXT, "images": Service.IMAGE, "video": Service.VIDEO, "characters": Service.SPEECH}
SWAPS = [{}, {"veo-3.0-generate": "veo-3.0-fast-generate"}, {"gemini-2.5-pro": "gemini-2.5-flash"},
         {"imagen-4.0-ultra-generate": "imagen-4.0-generate", "gemini-2.0-flash": "gemini-2.5-flash-lite"}]


@st.composite
def token_usage(draw) -> TokenUsage:
    prompt = draw(st.sampled_from([1_000, 199_999, 200_000, 200_001, 350_000]) | st.integers(0, 5_000)
                  | st.integers(199_990, 200_010) | st.integers(0, 400_000))  # 2.5 Pro: long context above 200,000
    cached = draw(st.sampled_from([0, prompt // 3, prompt]) | st.integers(0, prompt))
    audio = draw(st.sampled_from([0, prompt // 2, prompt]) | st.integers(0, prompt))  # cached + uncached audio
    # may exceed the prompt: unpriced
    cached_audio = draw(st.integers(0, min(cached, audio)))
    output = draw(st.integers(0, 9_000))
    return TokenUsage(input_tokens=prompt, cached_input_tokens=cached, audio_input_tokens=audio,
                      cached_audio_input_tokens=cached_audio, output_tokens=output,
                      image_output_tokens=draw(st.integers(0, output)), thinking_tokens=draw(st.integers(0, 3_000)),
                      tool_use_prompt_tokens=draw(st.sampled_from([0, 0, 7, 20])))


@st.composite
def usage_event(draw) -> UsageEvent:
    unit = draw(st.sampled_from(sorted(MODELS)))
    if unit == "tokens":
        usage = draw(token_usage())
    elif unit == "images":
        usage = ImageUsage(images=draw(st.integers(0, 8)), resolution=draw(st.sampled_from([None, "1K", "2K"])))
    elif unit == "video":
        seconds = D(draw(st.integers(0, 20_000_000))).scaleb(-6)  # up to 6 places, as stored
        usage = VideoUsage(seconds=seconds, with_audio=draw(st.booleans()),
                           resolution=draw(st.sampled_from(["720p", "1080p", "4k", "2160p", "8k", " FHD "])))
    else:
        usage = CharacterUsage(characters=draw(st.integers(0, 50_000)),
                               voice_tier=draw(st.sampled_from(["en-US-Neural2-C", "en-US-Studio-O", "Chirp3-HD"])))
    return UsageEvent(
        tenant_id=draw(st.sampled_from(["acme", "beta", "vip", "odd"])), session_id=f"s{draw(st.integers(0, 5))}",
        service=SERVICES[unit], model=draw(st.sampled_from(MODELS[unit])),
        billing_mode=draw(st.sampled_from(list(BillingMode))), usage=usage,
        occurred_at=draw(st.sampled_from(INSTANTS)) + draw(st.sampled_from([timedelta(0), TICK, timedelta(hours=5)])),
    )


@pytest.fixture(scope="module")
def store(clickhouse_dsn):
    client = connect(clickhouse_dsn)
    database = unique_name("grouped")
    migrate(client, database)

    def put(events: list[UsageEvent], twice_in_batch: list[int], twice_later: list[int]) -> None:
        client.command(f"TRUNCATE TABLE {database}.usage_events")
        rows = [to_row(PRICER.price(event)) for event in events]
        first = rows + [rows[i % len(rows)] for i in twice_in_batch] if rows else []
        if first:
            client.insert(f"{database}.usage_events", first, column_names=COLUMNS)
        again = [rows[i % len(rows)] for i in twice_later] if rows else []
        if again:  # another part: only FINAL (or a merge) collapses these
            client.insert(f"{database}.usage_events", again, column_names=COLUMNS)

    return client, database, put


def as_text(result) -> list[tuple[str, ...]]:
    return [tuple(str(value) for value in vars(line).values()) for line in result.lines]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(usage_event(), min_size=10, max_size=60),
       twice_in_batch=st.lists(st.integers(0, 1_000), max_size=5),
       twice_later=st.lists(st.integers(0, 1_000), max_size=8),
       swap=st.sampled_from(SWAPS),
       tenant=st.sampled_from([None, None, "acme", "odd"]),
       window=st.sampled_from([(None, None), (datetime(2025, 8, 10, tzinfo=UTC), datetime(2025, 9, 20, tzinfo=UTC)),
                               (datetime(2025, 9, 9, tzinfo=UTC), None)]),
       as_of=st.sampled_from([None, None, datetime(2025, 8, 20, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)]))
def test_grouped_repricing_equals_the_row_by_row_result_to_the_last_digit(
        store, events, twice_in_batch, twice_later, swap, tenant, window, as_of):
    client, database, put = store
    put(events, twice_in_batch, twice_later)
    usage = UsageFilter(tenant_id=tenant, start=window[0], end=window[1])
    grouped = run_reprice(client, database, PRICER, filter=usage, swap=swap, as_of=as_of)
    per_row = run_reprice(client, database, PRICER, filter=usage, swap=swap, as_of=as_of, per_row=True)
    assert grouped == per_row
    assert as_text(grouped) == as_text(per_row)  # the same digits, not only equal values


def test_rows_at_prices_too_fine_to_sum_are_priced_row_by_row(store):
    client, database, put = store
    # 3 × 1.000001 s at 0.3866668/s: each line rounds (0.3866671866668 → 0.386667186667), so the
    # rows sum to 1.160001560001; the summed seconds would give 3.000003 × 0.3866668 = 1.1600015600004.
    events = [UsageEvent(tenant_id="odd", session_id="s", service=Service.VIDEO, model="veo-3.0-generate",
                         occurred_at=datetime(2025, 9, 15, tzinfo=UTC), usage=VideoUsage(seconds=D("1.000001")))
              for _ in range(3)]
    put(events, [], [])
    grouped = run_reprice(client, database, PRICER)
    assert grouped == run_reprice(client, database, PRICER, per_row=True)
    line, = grouped.lines
    assert line.repriced_cost == D("1.160001560001") == line.current_cost
    assert per_row_rate_keys(build_plan(PRICER, [("odd", "veo-3.0-generate", "video", "")])) != set()
