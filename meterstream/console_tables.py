"""Tables for the terminal that read well at 80 columns: `meterstream report`, `sessions` and the demo.

Names (models, services, sessions) are never cut: their columns do not wrap or shorten. The
quantities share one `usage` column that names only what is there ("2 images, 8 s video"), and
may wrap; money is the exact decimal (no rounding to 6 places, no ellipsis).

Each token count means what it means in stats, export and reports (SessionTotals): input is
the prompt with its cached part (shown in brackets), output excludes thinking, and thinking
and tool-use prompt tokens are counted apart: "1,200 in tokens (200 cached), 300 out tokens,
40 thinking tokens, 10 tool-use tokens".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from rich.table import Table

from meterstream.pricing.money import money_text
from meterstream.schemas import SessionTotals

UNITS = (("input_tokens", "in tokens"), ("cached_input_tokens", "cached"), ("output_tokens", "out tokens"),
         ("thinking_tokens", "thinking tokens"), ("tool_use_prompt_tokens", "tool-use tokens"),
         ("images", "images"), ("video_seconds", "s video"), ("characters", "chars"))
PART_OF = {"cached_input_tokens": "input_tokens"}  # shown in brackets after the count it is part of


def _number(value: Any) -> str:
    return money_text(Decimal(value)) if isinstance(value, (Decimal, float, str)) else f"{int(value):,}"


def usage_text(quantities: Mapping[str, Any]) -> str:
    """ "1,200 in tokens (200 cached), 300 out tokens, 40 thinking tokens" — the non-zero quantities, exact."""
    parts = []
    for name, label in UNITS:
        value = quantities.get(name) or 0
        if not value:
            continue
        whole = PART_OF.get(name)
        if whole and quantities.get(whole) and parts:
            parts[-1] += f" ({_number(value)} {label})"
        else:
            parts.append(f"{_number(value)} {label}" + (" tokens" if whole else ""))
    return ", ".join(parts) or "-"


def _money(value: Any) -> str:
    return money_text(Decimal(str(value))) if value is not None else "-"


def cost_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], group_by: Sequence[str],
               limit: int | None = None) -> Table:
    """A CostReport's result: the group keys, operations, usage and cost."""
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    for key in group_by:
        table.add_column(key.removesuffix("_id") if key != "session_id" else "session", no_wrap=True)
    table.add_column("ops", justify="right", no_wrap=True)
    table.add_column("usage", overflow="fold", ratio=1)
    table.add_column("cost USD", justify="right", no_wrap=True)
    for row in rows[:limit]:
        values = dict(zip(columns, row))
        operations = f"{int(values['operations']):,}"
        if int(values.get("unpriced") or 0):
            operations += f" ({int(values['unpriced']):,} unpriced)"
        table.add_row(*(str(values[key] or "-") for key in group_by), operations, usage_text(values),
                      _money(values["cost"]))
    return table


def totals_table(title: str, totals: Sequence[SessionTotals], limit: int | None = None) -> Table:
    """Live session totals: session, operations, usage, cost."""
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    table.add_column("session", no_wrap=True)
    table.add_column("ops", justify="right", no_wrap=True)
    table.add_column("usage", overflow="fold", ratio=1)
    table.add_column("cost USD", justify="right", no_wrap=True)
    for t in sorted(totals, key=lambda t: t.total_cost, reverse=True)[:limit]:
        table.add_row(t.session_id, f"{t.operations:,}", usage_text(t.model_dump()), money_text(t.total_cost))
    return table


def session_table(totals: SessionTotals) -> Table:
    """One session's live totals per service, with its models."""
    table = Table(title=f"session {totals.session_id} (tenant {totals.tenant_id})", title_justify="left",
                  expand=False, pad_edge=False)
    table.add_column("service", no_wrap=True)
    table.add_column("ops", justify="right", no_wrap=True)
    table.add_column("models", overflow="fold", ratio=1)
    table.add_column(f"cost {totals.currency}", justify="right", no_wrap=True)
    for service, part in sorted(totals.by_service.items()):
        table.add_row(service, f"{part.operations:,}", ", ".join(sorted(part.models)), money_text(part.cost))
    table.add_section()
    table.add_row("total", f"{totals.operations:,}", usage_text(totals.model_dump()), money_text(totals.total_cost))
    return table
