"""Insights over the real (embedded) ClickHouse engine: savings, tops, distributions, comparison.

Every figure is computed by hand from the catalog's list prices (per 1M tokens, per second,
per image), independently of the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from meterstream.insights import service
from meterstream.insights.queries import Scope
from meterstream.insights.recommendations import parse_hours
from meterstream.pricing import Pricer, load_catalog
from meterstream.schemas import TokenUsage, VideoUsage
from meterstream.sinks.clickhouse import connect, migrate
from meterstream.sinks.clickhouse.rows import COLUMNS, to_row
from tests.conftest import unique_name
from tests.integration.test_reprice import JUNE, usage_event

pytestmark = pytest.mark.integration

D = Decimal
M = D(1_000_000)
PRICER = Pricer(load_catalog())
MONTH = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))


@pytest.fixture
def client(clickhouse_dsn):
    return connect(clickhouse_dsn)


def stored(client, events) -> str:
    database = unique_name("insights")
    migrate(client, database)
    client.insert(f"{database}.usage_events", [to_row(PRICER.price(e)) for e in events], column_names=COLUMNS)
    return database


def with_attributes(event, **attributes):
    return event.model_copy(update={"attributes": attributes})


def acme_june():
    return [
        usage_event("veo-3.0-generate", VideoUsage(seconds=D(8))),
        usage_event("veo-3.0-generate", VideoUsage(seconds=D(8)), session="s2"),
        usage_event("gemini-2.5-pro", TokenUsage(input_tokens=10_000, output_tokens=400)),
        usage_event("gemini-2.5-pro", TokenUsage(input_tokens=10_000, output_tokens=2_000)),
        with_attributes(usage_event("gemini-2.5-flash", TokenUsage(input_tokens=1_000, output_tokens=100)),
                        interactive="false"),
        usage_event("gemini-9-imaginary", TokenUsage(input_tokens=5, output_tokens=5)),  # unpriced
    ]


def recommendations(client, database, tenant="acme", non_interactive_hours=(), **scope):
    return service.recommendations(service.client_rows(client), database, PRICER, Scope(tenant, *MONTH, **scope),
                                   non_interactive_hours)


def test_each_saving_equals_the_hand_computed_difference_to_the_last_digit(client):
    database = stored(client, acme_june())
    found = {r.rule_id: r for r in recommendations(client, database).recommendations}
    # Veo 3 with audio 16 s at 0.40/s; Veo 3 Fast with audio 0.15/s; Veo 3 without audio 0.20/s.
    assert (found["veo-3-to-veo-3-fast"].cost, found["veo-3-to-veo-3-fast"].would_cost,
            found["veo-3-to-veo-3-fast"].saving) == (D("6.40"), D("2.40"), D("4.00"))
    assert found["video-without-audio"].saving == 16 * D("0.40") - 16 * D("0.20")
    # Pro → Flash only for the short answer (400 output tokens): 10k in, 400 out.
    pro = found["gemini-2.5-pro-to-flash-short-outputs"]
    assert pro.operations == 1
    assert pro.saving == (10_000 * D("1.25") + 400 * D("10.00")) / M - (10_000 * D("0.30") + 400 * D("2.50")) / M
    # Caching: half of each uncached 10k prompt at the cached rate 0.125 instead of 1.25, both Pro calls.
    assert found["context-caching-for-long-prompts"].saving == 2 * 5_000 * (D("1.25") - D("0.125")) / M
    # Batch: the non-interactive Flash call at half its input and output prices.
    assert found["batch-mode-for-non-interactive"].saving == (1_000 * D("0.30") + 100 * D("2.50")) / M / 2
    assert found["gemini-2.5-flash-to-flash-lite"].saving == (1_000 * (D("0.30") - D("0.10"))
                                                              + 100 * (D("2.50") - D("0.40"))) / M


def test_recommendations_tell_the_share_of_usage_they_touch_and_count_unpriced_usage_apart(client):
    database = stored(client, acme_june())
    result = recommendations(client, database)
    total = 2 * 8 * D("0.40") + D("0.0165") + D("0.0325") + D("0.00055")
    assert (result.total_cost, result.operations, result.unpriced_operations) == (total, 6, 1)
    veo = next(r for r in result.recommendations if r.rule_id == "veo-3-to-veo-3-fast")
    assert (veo.share_of_cost, veo.share_of_operations) == ((D("6.40") / total).quantize(D("0.0001")),
                                                            D("0.3333"))
    assert result.recommendations[0].rule_id == "veo-3-to-veo-3-fast"  # the largest saving first
    assert all(r.trade_off.endswith(".") for r in result.recommendations)


def test_recommendations_narrow_to_a_user_a_session_or_an_attribute_and_to_the_tenant(client):
    events = [*acme_june(), usage_event("veo-3.0-generate", VideoUsage(seconds=D(100)), tenant="other")]
    database = stored(client, events)

    def veo_saving(tenant="acme", **scope):
        result = recommendations(client, database, tenant, **scope)
        return next((r.saving for r in result.recommendations if r.rule_id == "veo-3-to-veo-3-fast"), None)

    assert veo_saving() == D("4.00")
    assert veo_saving(session_id="s2") == D("2.00")
    assert veo_saving(attribute="interactive", value="false") is None
    assert veo_saving("other") == 100 * (D("0.40") - D("0.15"))


def test_the_costliest_operations_and_sessions_come_first(client):
    database = stored(client, acme_june())
    scope = Scope("acme", *MONTH)
    rows = service.client_rows(client)
    operations = service.top(rows, database, scope, "event", 2)
    assert [o["cost"] for o in operations] == [D("3.20"), D("3.20")]
    sessions = service.top(rows, database, scope, "session", 5)
    assert [(s["session_id"], s["cost"], s["unpriced"]) for s in sessions] == [
        ("s1", D("3.20") + D("0.0165") + D("0.0325") + D("0.00055"), 1), ("s2", D("3.20"), 0)]


def test_cost_per_session_and_per_user_as_exact_percentiles(client):
    events = [usage_event("imagen-4.0-generate", __import__("meterstream.schemas", fromlist=["ImageUsage"])
                          .ImageUsage(images=n), session=f"s{n}").model_copy(update={"user_id": f"u{n % 2}"})
              for n in range(1, 11)]
    database = stored(client, events)
    found = {d.by: d for d in service.distributions(service.client_rows(client), database, Scope("acme", *MONTH))}
    session = found["session"]
    # sessions cost n × 0.04 for n = 1..10; exact (nearest-rank-like) quantiles of ClickHouse's quantilesExact
    assert (session.units, session.max, session.total) == (10, D("0.40"), 55 * D("0.04"))
    assert (session.p50, session.p90, session.p99) == (D("0.24"), D("0.40"), D("0.40"))
    user = found["user"]
    assert (user.units, user.total) == (2, 55 * D("0.04"))


def test_this_period_against_the_previous_one_by_service_and_model(client):
    may = JUNE - timedelta(days=30)
    events = [usage_event("veo-3.0-generate", VideoUsage(seconds=D(8))),
              usage_event("veo-3.0-generate", VideoUsage(seconds=D(4)), at=may)]
    database = stored(client, events)
    changes = service.compare(service.client_rows(client), database, "acme", JUNE - timedelta(days=15),
                              JUNE + timedelta(days=15))
    assert [(c.model, c.current, c.previous, c.change, c.ratio) for c in changes] == [
        ("veo-3.0-generate", D("3.20"), D("1.60"), D("1.60"), D("2"))]


def test_the_insights_command_prints_the_savings_as_json(client, clickhouse_dsn, capsys, tmp_path):
    import json

    from meterstream.cli import build_parser
    from meterstream.settings import Settings

    database = stored(client, acme_june())
    settings = Settings(data_dir=tmp_path, clickhouse_dsn=clickhouse_dsn, clickhouse_database=database)
    args = build_parser().parse_args(["insights", "recommendations", "--tenant", "acme", "--start", "2026-06-01",
                                      "--end", "2026-07-01", "--json"])
    assert args.handler(args, settings) == 0
    output = json.loads(capsys.readouterr().out)
    veo = next(r for r in output["recommendations"] if r["rule_id"] == "veo-3-to-veo-3-fast")
    assert (veo["saving"], output["unpriced_operations"]) == ("4", 1)


def test_the_insights_command_forecasts_the_month(client, clickhouse_dsn, capsys, tmp_path):
    from meterstream.cli import build_parser
    from meterstream.settings import Settings

    database = stored(client, acme_june())
    settings = Settings(data_dir=tmp_path, clickhouse_dsn=clickhouse_dsn, clickhouse_database=database)
    args = build_parser().parse_args(["insights", "forecast", "--tenant", "acme", "--end", "2026-06-30T00:00:00"])
    assert args.handler(args, settings) == 0
    table = capsys.readouterr().out
    assert "forecast of 2026-06" in table
    assert_readable_at_80_columns(table, "2026-06")
    args = build_parser().parse_args(["insights", "recommendations", "--tenant", "acme", "--start", "2026-06-01",
                                      "--end", "2026-07-01"])
    assert args.handler(args, settings) == 0
    table = capsys.readouterr().out
    assert_readable_at_80_columns(table, "6.4", "2.4", "veo-3-to-veo-3-fast:")


def test_context_caching_is_suggested_only_where_long_prompts_repeat_in_a_session(client):
    long = TokenUsage(input_tokens=10_000, output_tokens=2_000)
    database = stored(client, [usage_event("gemini-2.5-pro", long, session="once"),
                               usage_event("gemini-2.5-pro", long, session="twice"),
                               usage_event("gemini-2.5-pro", long, session="twice")])
    caching = next(r for r in recommendations(client, database).recommendations
                   if r.rule_id == "context-caching-for-long-prompts")
    assert (caching.operations, caching.saving) == (2, 2 * 5_000 * (D("1.25") - D("0.125")) / M)


def test_a_long_prompt_stored_twice_before_a_merge_is_not_a_repeat(client):
    event = usage_event("gemini-2.5-pro", TokenUsage(input_tokens=10_000, output_tokens=2_000), session="once")
    database = stored(client, [event, event])  # the same event_id twice: one call
    found = {r.rule_id for r in recommendations(client, database).recommendations}
    assert "context-caching-for-long-prompts" not in found
    assert recommendations(client, database).operations == 1


def test_sessions_with_only_unpriced_usage_are_counted_apart_not_as_zero_cost(client):
    from meterstream.schemas import ImageUsage

    database = stored(client, [usage_event("imagen-4.0-generate", ImageUsage(images=1), session="priced"),
                               usage_event("gemini-9-imaginary", TokenUsage(input_tokens=1), session="unknown")])
    session = next(d for d in service.distributions(service.client_rows(client), database, Scope("acme", *MONTH))
                   if d.by == "session")
    assert (session.units, session.p50, session.unpriced_only) == (1, D("0.04"), 1)


def test_text_calls_are_swapped_to_flash_lite_2_0_and_calls_with_audio_are_not(client):
    text = TokenUsage(input_tokens=1_000, output_tokens=10)
    audio = TokenUsage(input_tokens=1_000, audio_input_tokens=500, output_tokens=10)
    database = stored(client, [usage_event("gemini-2.0-flash", text), usage_event("gemini-2.0-flash", audio)])
    swap = next(r for r in recommendations(client, database).recommendations
                if r.rule_id == "gemini-2.0-flash-to-flash-lite")
    assert (swap.operations, swap.saving) == (1, (1_000 * (D("0.10") - D("0.075")) + 10 * (D("0.40") - D("0.30"))) / M)


def test_usage_timed_as_non_interactive_counts_for_batch_mode_as_tagged_usage_does_and_never_twice(client):
    def flash(hour, input_tokens, output_tokens, **attributes):
        event = usage_event("gemini-2.5-flash", TokenUsage(input_tokens=input_tokens, output_tokens=output_tokens),
                            at=JUNE.replace(hour=hour))
        return with_attributes(event, **attributes) if attributes else event

    database = stored(client, [
        flash(3, 1_234, 567),  # timed: 03:00 UTC lies in 0-6
        flash(3, 2_000, 100, interactive="false"),  # tagged and timed: counted once
        flash(12, 1_000, 100, workload="nightly"),  # tagged only
        flash(12, 3_000, 300),  # neither
        flash(6, 5_000, 10),  # 06:00 is the excluded end of 0-6
    ])

    def batch(**hours):
        return next((r for r in recommendations(client, database, **hours).recommendations
                     if r.rule_id == "batch-mode-for-non-interactive"), None)

    # Flash: input 0.30, output 2.50 per 1M tokens; batch halves both.
    # Tagged only: (2,000 × 0.30 + 100 × 2.50) / 2 + (1,000 × 0.30 + 100 × 2.50) / 2 = 425 + 275 = 700 per 1M.
    tagged = batch()
    assert (tagged.operations, tagged.saving) == (2, D("0.0007"))
    # With 0-6: + (1,234 × 0.30 + 567 × 2.50) / 2 = (370.2 + 1,417.5) / 2 = 893.85 per 1M.
    timed = batch(non_interactive_hours=parse_hours("0-6"))
    assert (timed.operations, timed.cost, timed.would_cost, timed.saving) == (
        3, D("0.0031877"), D("0.00159385"), D("0.00159385"))
    # Wrapping past midnight: 22-4 holds 03:00 too; 7-12 holds none of the untagged calls.
    assert batch(non_interactive_hours=parse_hours("22-4")).saving == D("0.00159385")
    assert batch(non_interactive_hours=parse_hours("7-12")).saving == D("0.0007")


def test_the_insights_command_takes_non_interactive_hours_and_refuses_malformed_ones(
        client, clickhouse_dsn, capsys, tmp_path):
    import json

    from meterstream.cli import build_parser
    from meterstream.settings import Settings

    event = usage_event("gemini-2.5-flash", TokenUsage(input_tokens=1_234, output_tokens=567), at=JUNE.replace(hour=3))
    database = stored(client, [event])
    settings = Settings(data_dir=tmp_path, clickhouse_dsn=clickhouse_dsn, clickhouse_database=database)
    command = ["insights", "recommendations", "--tenant", "acme", "--start", "2026-06-01", "--end", "2026-07-01",
               "--json"]
    args = build_parser().parse_args(command)
    assert args.handler(args, settings) == 0
    assert "batch-mode-for-non-interactive" not in capsys.readouterr().out
    args = build_parser().parse_args([*command, "--non-interactive-hours", "0-6"])
    assert args.handler(args, settings) == 0
    batch = next(r for r in json.loads(capsys.readouterr().out)["recommendations"]
                 if r["rule_id"] == "batch-mode-for-non-interactive")
    assert (batch["operations"], batch["saving"]) == (1, "0.00089385")
    for bad in ("6-6", "0-25", "night"):
        with pytest.raises(SystemExit) as refused:
            build_parser().parse_args([*command, "--non-interactive-hours", bad])
        assert refused.value.code == 2
        assert "--non-interactive-hours" in capsys.readouterr().err


def assert_readable_at_80_columns(table: str, *whole: str) -> None:
    """Nothing cut (no ellipsis), no line wider than 80 columns, and each of `whole` on one line."""
    assert "…" not in table and all(len(line) <= 80 for line in table.splitlines()), table
    for text in whole:
        assert text in table, text


def insights_command(clickhouse_dsn, tmp_path, database, *arguments):
    from meterstream.cli import build_parser
    from meterstream.settings import Settings

    settings = Settings(data_dir=tmp_path, clickhouse_dsn=clickhouse_dsn, clickhouse_database=database)
    args = build_parser().parse_args(["insights", *arguments, "--tenant", "acme"])
    return args.handler(args, settings)


def test_the_insights_command_ranks_the_costliest_events_sessions_and_users(client, clickhouse_dsn, capsys,
                                                                            tmp_path):
    import json

    database = stored(client, acme_june())
    period = ("--start", "2026-06-01", "--end", "2026-07-01")
    assert insights_command(clickhouse_dsn, tmp_path, database, "top", *period, "--by", "event", "--limit", "2",
                            "--json") == 0
    events = json.loads(capsys.readouterr().out)
    # the two Veo calls (same cost and time: then by event_id)
    assert sorted((e["model"], e["cost"], e["session_id"]) for e in events) == [
        ("veo-3.0-generate", "3.2", "s1"), ("veo-3.0-generate", "3.2", "s2")]
    assert insights_command(clickhouse_dsn, tmp_path, database, "top", *period, "--json") == 0
    sessions = json.loads(capsys.readouterr().out)
    # s1: Veo 3.20 + Pro 0.0165 + Pro 0.0325 + Flash 0.00055, and the unpriced call counted apart
    assert [(s["session_id"], s["cost"], s["operations"], s["unpriced"]) for s in sessions] == [
        ("s1", "3.24955", 5, 1), ("s2", "3.2", 1, 0)]
    assert insights_command(clickhouse_dsn, tmp_path, database, "top", *period, "--by", "operation", "--json") == 0
    operations = json.loads(capsys.readouterr().out)
    assert [(o["service"], o["operation"], o["operations"], o["cost"], o["unpriced"]) for o in operations] == [
        ("video", "generate", 2, "6.4", 0), ("text", "generate", 4, "0.04955", 1)]
    assert insights_command(clickhouse_dsn, tmp_path, database, "top", *period) == 0
    table = capsys.readouterr().out
    assert "top sessions of acme" in table and "3.24955" in table
    assert_readable_at_80_columns(table, "s1", "5 (1 unpriced)")
    assert insights_command(clickhouse_dsn, tmp_path, database, "top", *period, "--by", "event") == 0
    table = capsys.readouterr().out
    assert_readable_at_80_columns(table, "2026-06-01 12:00", "veo-3.0-generate", "gemini-9-imaginary", "unpriced")


def test_the_insights_command_shows_cost_per_session_and_user_as_percentiles(client, clickhouse_dsn, capsys,
                                                                             tmp_path):
    import json

    from meterstream.schemas import ImageUsage

    events = [usage_event("imagen-4.0-generate", ImageUsage(images=n), session=f"s{n}").model_copy(
        update={"user_id": f"u{n % 2}"}) for n in range(1, 11)]
    database = stored(client, [*events, usage_event("gemini-9-imaginary", TokenUsage(input_tokens=1),
                                                    session="unknown")])
    period = ("--start", "2026-06-01", "--end", "2026-07-01")
    assert insights_command(clickhouse_dsn, tmp_path, database, "distributions", *period, "--json") == 0
    found = {d["by"]: d for d in json.loads(capsys.readouterr().out)}
    # sessions cost n × 0.04 for n = 1..10 (ClickHouse's exact quantiles), the unpriced one apart
    assert (found["session"]["units"], found["session"]["p50"], found["session"]["p90"], found["session"]["max"],
            found["session"]["total"], found["session"]["unpriced_only"]) == (10, "0.24", "0.4", "0.4", "2.2", 1)
    # users: odd n (u1) 25 × 0.04 = 1.00, even n (u0) 30 × 0.04 = 1.20
    assert (found["user"]["units"], found["user"]["max"], found["user"]["total"]) == (2, "1.2", "2.2")
    assert insights_command(clickhouse_dsn, tmp_path, database, "distributions", *period) == 0
    table = capsys.readouterr().out
    assert "cost per session and per user of acme" in table
    assert_readable_at_80_columns(table, "session (USD)", "user (USD)", "0.24", "2.2")


def test_the_insights_command_compares_the_period_with_the_one_before(client, clickhouse_dsn, capsys, tmp_path):
    import json

    from meterstream.schemas import ImageUsage

    may = JUNE - timedelta(days=30)
    database = stored(client, [usage_event("veo-3.0-generate", VideoUsage(seconds=D(8))),
                               usage_event("veo-3.0-generate", VideoUsage(seconds=D(4)), at=may),
                               usage_event("imagen-4.0-generate", ImageUsage(images=3), at=may)])
    period = ("--start", (JUNE - timedelta(days=15)).isoformat(), "--end", (JUNE + timedelta(days=15)).isoformat())
    assert insights_command(clickhouse_dsn, tmp_path, database, "compare", *period, "--json") == 0
    changes = json.loads(capsys.readouterr().out)
    # Veo: 8 s against 4 s at 0.40/s; Imagen: none now against 3 × 0.04; the largest change first
    assert [(c["model"], c["current"], c["previous"], c["change"], c["ratio"]) for c in changes] == [
        ("veo-3.0-generate", "3.2", "1.6", "1.6", "2"), ("imagen-4.0-generate", "0", "0.12", "-0.12", "0")]
    assert insights_command(clickhouse_dsn, tmp_path, database, "compare", *period) == 0
    table = capsys.readouterr().out
    assert "against the period before" in table
    assert_readable_at_80_columns(table, "veo-3.0-generate", "imagen-4.0-generate", "-0.12", "3.2")
