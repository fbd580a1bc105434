"""Terminal tables at 80 columns: names whole, quantities named, money exact."""

from decimal import Decimal

from rich.console import Console

from meterstream.console_tables import cost_table, session_table, totals_table, usage_text
from meterstream.schemas import SessionTotals
from meterstream.schemas.totals import ServiceTotals

COLUMNS = ("service", "model", "operations", "cost", "unpriced", "input_tokens", "output_tokens", "images",
           "video_seconds", "characters")


def _render(table) -> str:
    console = Console(width=80, record=True, file=open("/dev/null", "w"))
    console.print(table)
    return console.export_text()


def test_a_cost_report_keeps_every_name_whole_at_80_columns():
    rows = [("video", "veo-3.0-fast-generate-preview", 26, Decimal("52.000000000000"), 0, 0, 0, 0,
             Decimal("154.000000"), 0),
            ("speech", "gemini-2.5-flash-preview-tts", 87, Decimal("3.660841"), 2, 41910, 33450, 0, Decimal(0), 0)]
    text = _render(cost_table("cost by service,model", COLUMNS, rows, ("service", "model")))
    assert "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    for whole in ("veo-3.0-fast-generate-preview", "gemini-2.5-flash-preview-tts", "speech", "52", "3.660841",
                  "87 (2 unpriced)"):
        assert whole in text, whole


def test_usage_names_only_what_is_there():
    assert usage_text({"images": 2, "video_seconds": Decimal("8.500000")}) == "2 images, 8.5 s video"
    assert usage_text({"input_tokens": 1200, "output_tokens": 300}) == "1,200 in tokens, 300 out tokens"
    assert usage_text({}) == "-"


def test_a_sessions_table_lists_services_with_their_models():
    totals = SessionTotals(tenant_id="acme", session_id="sess-42", total_cost=Decimal("0.080001496"), operations=3,
                           images=2, by_service={"image": ServiceTotals(operations=2, cost=Decimal("0.08"),
                                                                        models=["imagen-4.0-generate"])})
    text = _render(session_table(totals))
    assert "imagen-4.0-generate" in text and "0.080001496" in text and "…" not in text


def test_every_token_kind_is_shown_with_the_meaning_it_has_in_stats_export_and_reports():
    # as in SessionTotals: input includes its cached part, output excludes thinking, tool use apart
    quantities = {"input_tokens": 1200, "cached_input_tokens": 200, "output_tokens": 300, "thinking_tokens": 40,
                  "tool_use_prompt_tokens": 10}
    assert usage_text(quantities) == ("1,200 in tokens (200 cached), 300 out tokens, 40 thinking tokens, "
                                      "10 tool-use tokens")
    assert usage_text({"output_tokens": 5, "thinking_tokens": 7}) == "5 out tokens, 7 thinking tokens"


def test_the_report_and_sessions_tables_show_thinking_cached_and_tool_use_tokens_at_80_columns():
    columns = (*COLUMNS, "cached_input_tokens", "thinking_tokens", "tool_use_prompt_tokens")
    rows = [("text", "gemini-2.5-flash-preview-09-2025", 87, Decimal("3.660841"), 0, 41910, 33450, 0, Decimal(0), 0,
             12000, 98765, 4321)]
    totals = SessionTotals(tenant_id="acme", session_id="sess-thinking-42", total_cost=Decimal("0.5"), operations=3,
                           input_tokens=41910, cached_input_tokens=12000, output_tokens=33450, thinking_tokens=98765,
                           tool_use_prompt_tokens=4321)
    for table in (cost_table("cost by service,model", columns, rows, ("service", "model")),
                  totals_table("sessions", [totals]), session_table(totals)):
        text = _render(table)
        assert "…" not in text and all(len(line) <= 80 for line in text.splitlines())
        # the usage column (the one before the cost) wraps onto more lines, never cut
        usage = " ".join(" ".join(line.split("│")[-3].split()) for line in text.splitlines() if "│" in line)
        assert ("41,910 in tokens (12,000 cached), 33,450 out tokens, 98,765 thinking tokens, 4,321 tool-use tokens"
                in usage), usage
