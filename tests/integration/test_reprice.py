"""Re-pricing stored usage in the real (embedded) ClickHouse engine.

One chdb folder per test session (chdb runs one engine path per process), a unique
database per test. Rows are stored the way the sink stores them (rows.to_row).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterstream.cli import build_parser
from meterstream.pricing import Pricer, TenantBook, TenantPricing, load_catalog
from meterstream.producers.workload import studio_workload
from meterstream.schemas import (
    BillingMode,
    CharacterUsage,
    ImageUsage,
    Service,
    TokenUsage,
    UsageEvent,
    VideoUsage,
)
from meterstream.settings import Settings
from meterstream.sinks.clickhouse import connect, migrate
from meterstream.sinks.clickhouse.migrations import bootstrap_statements, migration_statements
from meterstream.sinks.clickhouse.reprice import UsageFilter, run_reprice
from meterstream.sinks.clickhouse.rows import COLUMNS, to_row
from tests.conftest import unique_name

pytestmark = pytest.mark.integration

D = Decimal
JUNE = datetime(2026, 6, 1, 12, tzinfo=UTC)
AUGUST_2025 = datetime(2025, 8, 1, tzinfo=UTC)
CATALOG = load_catalog()
TENANTS = TenantBook(tenants={"vip": TenantPricing(adjustment_percent=D("-12.5"), custom_prices={
    "gemini-2.5-flash": {"output": D("2.00")}})})
SERVICES = {"tokens": Service.TEXT, "images": Service.IMAGE, "video": Service.VIDEO, "characters": Service.SPEECH}


def usage_event(model, usage, at=JUNE, tenant="acme", session="s1", mode="standard") -> UsageEvent:
    return UsageEvent(tenant_id=tenant, session_id=session, service=SERVICES[usage.unit], model=model,
                      occurred_at=at, billing_mode=BillingMode(mode), usage=usage)


def store(client, events, pricer: Pricer) -> str:
    database = unique_name("reprice")
    migrate(client, database)
    client.insert(f"{database}.usage_events", [to_row(pricer.price(e)) for e in events], column_names=COLUMNS)
    return database


@pytest.fixture
def client(clickhouse_dsn):
    return connect(clickhouse_dsn)


def varied_usage() -> list[UsageEvent]:
    """Every rule the engine applies, in stored form (no cached-audio or image-output split: not stored)."""
    return [
        *studio_workload(200, sessions=5, start=datetime(2026, 5, 1, tzinfo=UTC)),
        usage_event("gemini-2.5-pro", TokenUsage(input_tokens=200_000, output_tokens=10)),
        usage_event("gemini-2.5-pro", TokenUsage(input_tokens=200_001, cached_input_tokens=90_000, output_tokens=7,
                                                 thinking_tokens=3)),
        usage_event("gemini-2.5-pro", TokenUsage(input_tokens=199_999, tool_use_prompt_tokens=2, output_tokens=1)),
        usage_event("gemini-2.5-flash", TokenUsage(input_tokens=9_000, audio_input_tokens=4_000,
                                                   cached_input_tokens=3_000, output_tokens=333), mode="batch"),
        usage_event("gemini-2.5-flash-lite", TokenUsage(input_tokens=77, output_tokens=5), mode="free"),
        usage_event("imagen-4.0-generate", ImageUsage(images=2), mode="free"),  # paid only: unpriced
        usage_event("models/gemini-2.0-flash-001", TokenUsage(input_tokens=1_000, audio_input_tokens=100,
                                                              output_tokens=1)),
        usage_event("veo-3.0-generate", VideoUsage(seconds=D(8)), at=AUGUST_2025),  # launch price
        usage_event("veo-3.0-generate", VideoUsage(seconds=D(8), with_audio=False), at=AUGUST_2025),  # none then
        usage_event("veo-3.1-fast-generate", VideoUsage(seconds=D("7.5"), resolution="1080p")),
        usage_event("veo-3.1-generate", VideoUsage(seconds=D(4), resolution="2160p")),
        usage_event("veo-2.0-generate", VideoUsage(seconds=D(5))),
        usage_event("veo-3.1-generate", VideoUsage(seconds=D(4), resolution="8k")),  # no 8k price: unpriced
        usage_event("veo-2.0-generate", VideoUsage(seconds=D(4), resolution="4k")),  # no 4k price: unpriced
        usage_event("cloud-tts", CharacterUsage(characters=12_345, voice_tier="en-US-Neural2-C")),
        usage_event("imagen-4.0-ultra-generate-001", ImageUsage(images=3, resolution="2K")),
        usage_event("mystery-model", TokenUsage(input_tokens=5)),
        usage_event("gemini-2.5-flash", TokenUsage(input_tokens=1_001, output_tokens=999), tenant="vip",
                    session="v1"),
        usage_event("imagen-4.0-fast-generate", ImageUsage(images=7), tenant="vip", session="v1"),
    ]


def test_repricing_with_the_catalog_that_priced_the_usage_reproduces_every_stored_cost(client):
    pricer = Pricer(CATALOG, TENANTS)
    events = varied_usage()
    database = store(client, events, pricer)
    result = run_reprice(client, database, pricer)
    assert sum(line.operations for line in result.lines) == len(events)
    for line in result.lines:
        assert line.difference == 0, line
    assert result.current_cost == sum((pricer.price(e).total_cost for e in events), D(0))
    assert result.repriced_cost == result.current_cost
    # unpriced: the free Imagen call, the silent Veo 3 video at its launch, the two resolutions
    # no entry lists, the unknown model
    assert result.unpriced == 5


def test_swapping_veo_3_for_veo_3_fast_shows_the_saving_by_model(client):
    events = [usage_event("veo-3.0-generate", VideoUsage(seconds=D(8))),  # 8 × 0.40 = 3.20 → 8 × 0.15 = 1.20
              usage_event("veo-3.0-generate", VideoUsage(seconds=D(4), with_audio=False)),  # 0.80 → 4 × 0.10 = 0.40
              usage_event("imagen-4.0-generate", ImageUsage(images=1))]  # untouched: 0.04
    pricer = Pricer(CATALOG)
    database = store(client, events, pricer)
    result = run_reprice(client, database, pricer, swap={"veo-3.0-generate": "veo-3.0-fast-generate"})
    lines = {(line.model, line.priced_as): line for line in result.lines}
    veo = lines[("veo-3.0-generate", "veo-3.0-fast-generate")]
    assert (veo.operations, veo.current_cost, veo.repriced_cost, veo.difference) == (2, D("4.00"), D("1.60"),
                                                                                    D("-2.40"))
    assert lines[("imagen-4.0-generate", "imagen-4.0-generate")].difference == 0
    assert (result.current_cost, result.repriced_cost) == (D("4.04"), D("1.64"))


def test_repricing_under_another_catalog_version_prices_what_it_knows_and_counts_the_rest(client):
    events = [usage_event("imagen-4.0-ultra-generate", ImageUsage(images=5)),  # 0.30 now, 5 × 0.04 = 0.20 in demo
              usage_event("gemini-2.5-flash", TokenUsage(input_tokens=10, output_tokens=10))]  # not in demo
    database = store(client, events, Pricer(CATALOG))
    result = run_reprice(client, database, Pricer(load_catalog("demo")))
    lines = {line.model: line for line in result.lines}
    assert result.catalog_version == "seed-demo"
    assert (lines["imagen-4.0-ultra-generate"].repriced_cost, lines["imagen-4.0-ultra-generate"].difference) == (
        D("0.20"), D("-0.10"))
    assert (lines["gemini-2.5-flash"].priced_as, lines["gemini-2.5-flash"].unpriced) == ("", 1)


def test_as_of_reprices_old_usage_at_todays_prices(client):
    events = [usage_event("veo-3.0-generate", VideoUsage(seconds=D(8)), at=AUGUST_2025)]  # stored at 8 × 0.75
    pricer = Pricer(CATALOG)
    database = store(client, events, pricer)
    assert run_reprice(client, database, pricer).difference == 0
    assert run_reprice(client, database, pricer, as_of=JUNE).repriced_cost == D("3.20")  # 8 × 0.40


def test_repricing_selects_a_tenant_a_session_or_a_time_range(client):
    events = [usage_event("imagen-4.0-generate", ImageUsage(images=1), tenant="a", session="a1"),
              usage_event("imagen-4.0-generate", ImageUsage(images=2), tenant="a", session="a2",
                          at=datetime(2026, 4, 1, tzinfo=UTC)),
              usage_event("imagen-4.0-generate", ImageUsage(images=4), tenant="b", session="b1")]
    pricer = Pricer(CATALOG)
    database = store(client, events, pricer)

    def images(**filters) -> int:
        return sum(int(line.current_cost / D("0.04")) for line in
                   run_reprice(client, database, pricer, filter=UsageFilter(**filters)).lines)

    assert images(tenant_id="a") == 3
    assert images(session_id="b1") == 4
    assert images(start=datetime(2026, 5, 1, tzinfo=UTC)) == 5
    assert images(end=datetime(2026, 5, 1, tzinfo=UTC)) == 2


def test_the_reprice_command_prints_the_difference_by_service_and_model(client, clickhouse_dsn, capsys, tmp_path):
    pricer = Pricer(CATALOG)
    database = store(client, [usage_event("veo-3.0-generate", VideoUsage(seconds=D(8)))], pricer)
    settings = Settings(data_dir=tmp_path, clickhouse_dsn=clickhouse_dsn, clickhouse_database=database)
    args = build_parser().parse_args(["reprice", "--swap", "veo-3.0-generate=veo-3.0-fast-generate", "--json"])
    assert args.handler(args, settings) == 0
    output = json.loads(capsys.readouterr().out)
    assert output["lines"] == [{
        "service": "video", "model": "veo-3.0-generate", "priced_as": "veo-3.0-fast-generate", "operations": 1,
        "current_cost": "3.200000000000", "repriced_cost": "1.200000000000", "difference": "-2.000000000000",
        "unpriced": 0,
    }]


def test_the_reprice_command_says_which_table_it_cannot_read(clickhouse_dsn, capsys, tmp_path):
    settings = Settings(data_dir=tmp_path, clickhouse_dsn=clickhouse_dsn, clickhouse_database=unique_name("none"))
    args = build_parser().parse_args(["reprice"])
    assert args.handler(args, settings) == 3
    assert f"cannot re-price {settings.clickhouse_database}.usage_events" in capsys.readouterr().err.replace("\n", "")


def test_cached_audio_and_image_output_tokens_reprice_at_their_own_rates(client):
    pricer = Pricer(CATALOG)
    audio = TokenUsage(input_tokens=10_000, audio_input_tokens=4_000, cached_input_tokens=3_000,
                       cached_audio_input_tokens=1_000, output_tokens=500)
    image = TokenUsage(input_tokens=100, output_tokens=1_300, image_output_tokens=1_290)
    database = store(client, [usage_event("gemini-2.5-flash", audio),
                              usage_event("gemini-2.5-flash-image", image)], pricer)
    lines = {line.model: line for line in run_reprice(client, database, pricer).lines}
    # gemini-2.5-flash per 1M: text 4,000 × 0.30 + uncached audio 3,000 × 1.00 + cached text 2,000 × 0.03
    # + cached audio 1,000 × 0.10 + output 500 × 2.50
    assert lines["gemini-2.5-flash"].repriced_cost == D("0.0012") + D("0.003") + D("0.00006") + D("0.0001") \
        + D("0.00125") == D("0.00561")
    # gemini-2.5-flash-image per 1M: input 100 × 0.30 + text output 10 × 2.50 + image output 1,290 × 30.00
    assert lines["gemini-2.5-flash-image"].repriced_cost == D("0.00003") + D("0.000025") + D("0.0387") \
        == D("0.038755")
    assert all(line.difference == 0 for line in lines.values())


def migrate_to(client, database: str, last: int) -> None:
    """The schema as it was at version `last`, recorded as applied (what an older folder holds)."""
    for sql in bootstrap_statements(database):
        client.command(sql)
    for version, statements in migration_statements(database):
        if version <= last:
            for sql in statements:
                client.command(sql)
            client.insert(f"{database}.schema_migrations", [[version]], column_names=["version"])


def test_rows_stored_before_the_token_split_keep_their_data_and_read_zero_there(client):
    database = unique_name("reprice")
    migrate_to(client, database, 7)  # the schema before the token split (and the projection that sums it)
    old = to_row(Pricer(CATALOG).price(usage_event("gemini-2.5-flash", TokenUsage(input_tokens=7, output_tokens=3))))
    client.insert(f"{database}.usage_events", [old[:-2]], column_names=COLUMNS[:-2])
    assert migrate(client, database) == [8, 9, 10, 11]
    rows = client.query(f"SELECT input_tokens, cached_audio_input_tokens, image_output_tokens "
                        f"FROM {database}.usage_events").result_rows
    assert rows == [(7, 0, 0)]
