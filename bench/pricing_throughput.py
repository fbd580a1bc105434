"""Pricing throughput: meterstream's Pricer vs LiteLLM's cost_per_token, same records, same run, one core.

    pip install -e ".[bench]"
    python bench/pricing_throughput.py --records 20000 --rounds 7

The records are Gemini text calls where the two catalogs agree (gemini-2.5-flash,
gemini-2.5-pro, gemini-2.5-flash-lite, standard mode): plain prompts, cached prompts,
audio prompts, thinking, and long (>200k) Gemini 2.5 Pro prompts. Both sides get their
inputs prebuilt (a UsageEvent for meterstream, a LiteLLM Usage for LiteLLM); only pricing
is timed. meterstream's side returns what the stream uses, a full PricedUsage with its
cost lines; LiteLLM's returns (prompt cost, completion cost) as floats.

Timing alternates between the two in chunks of records, so both run under the same
machine load, and counts the CPU time of the benchmark's thread (on a shared machine,
wall-clock time also counts other processes' turns on the core; it is reported too). The
rates are medians over the rounds, the ratio the median of the per-round ratios. The
process is pinned to one CPU, and the objects alive after set-up are frozen out of the
garbage collector's reach (gc.freeze), so neither side pays for traversing the other's
heap. Costs are compared record by record: a LiteLLM float matches when it rounds to
meterstream's exact cost at 12 decimal places.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm is imported: no network fetch

AT = datetime(2026, 6, 1, tzinfo=UTC)
MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite")


@dataclass(frozen=True)
class Record:
    model: str
    prompt: int
    cached: int
    audio: int
    candidates: int
    thoughts: int


def records(n: int, seed: int = 11) -> list[Record]:
    """Realistic Gemini calls: a third cached, some with audio, thinking on Pro, 5% long Pro prompts."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        model = rng.choices(MODELS, weights=(5, 3, 2))[0]
        prompt = rng.randint(300, 12_000)
        if model == "gemini-2.5-pro" and rng.random() < 0.05:
            prompt = rng.randint(150_000, 400_000)
        kind = rng.random()
        cached = rng.randint(prompt // 4, prompt // 2) if kind < 0.33 else 0
        audio = rng.randint(100, prompt // 2) if 0.33 <= kind < 0.5 and model != "gemini-2.5-pro" else 0
        thoughts = rng.randint(200, 4_000) if model == "gemini-2.5-pro" or rng.random() < 0.3 else 0
        out.append(Record(model, prompt, cached, audio, rng.randint(50, 2_500), thoughts))
    return out


def meterstream_side(recs: list[Record]):
    from meterstream.pricing import Pricer, load_catalog
    from meterstream.schemas import Service, TokenUsage, UsageEvent

    pricer = Pricer(load_catalog())
    events = [UsageEvent(
        tenant_id="bench", session_id=f"s{n % 100}", service=Service.TEXT, model=r.model, occurred_at=AT,
        usage=TokenUsage(input_tokens=r.prompt, cached_input_tokens=r.cached, audio_input_tokens=r.audio,
                         output_tokens=r.candidates, thinking_tokens=r.thoughts),
    ) for n, r in enumerate(recs)]
    return pricer.price, events


def litellm_side(recs: list[Record]):
    import litellm
    from litellm.types.utils import CompletionTokensDetailsWrapper, PromptTokensDetailsWrapper, Usage

    # The Usage LiteLLM's own Gemini integration builds from usage_metadata: prompt tokens include
    # cached ones, text tokens exclude them, completion tokens include thinking.
    usages = [Usage(
        prompt_tokens=r.prompt, completion_tokens=r.candidates + r.thoughts,
        total_tokens=r.prompt + r.candidates + r.thoughts,
        prompt_tokens_details=PromptTokensDetailsWrapper(
            cached_tokens=r.cached or None, audio_tokens=r.audio or None, text_tokens=r.prompt - r.cached - r.audio),
        completion_tokens_details=CompletionTokensDetailsWrapper(reasoning_tokens=r.thoughts or None,
                                                                 text_tokens=r.candidates),
    ) for r in recs]

    def price(record: Record, usage: Usage) -> tuple[float, float]:
        return litellm.cost_per_token(model=record.model, usage_object=usage, custom_llm_provider="gemini")

    return price, usages


def timed(fn, *columns) -> tuple[float, float]:
    """(CPU seconds of this thread, wall seconds) to call fn over the zipped columns."""
    cpu, wall = time.thread_time(), time.perf_counter()
    for args in zip(*columns):
        fn(*args)
    return time.thread_time() - cpu, time.perf_counter() - wall


def compare_costs(recs, pricer, events, lite_price, usages) -> dict[str, object]:
    quantum = Decimal("1e-12")
    mismatches = []
    for record, event, usage in zip(recs, events, usages):
        ours = pricer(event).total_cost
        prompt_cost, completion_cost = lite_price(record, usage)
        theirs = Decimal(repr(prompt_cost + completion_cost))
        if theirs.quantize(quantum) != ours.quantize(quantum):
            mismatches.append({"record": record.__dict__, "meterstream": str(ours), "litellm": str(theirs)})
    return {"records": len(recs), "identical": len(recs) - len(mismatches), "mismatches": mismatches[:5]}


def machine() -> dict[str, object]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    versions = {name: metadata.version(name) for name in ("meterstream", "pydantic", "pydantic-core", "litellm")}
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "os": platform.platform(), **versions,
            "load_average_at_start": os.getloadavg()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--litellm-share", type=int, default=10,
                        help="LiteLLM prices 1/N of the records per round (it is much slower)")
    parser.add_argument("--chunk", type=int, default=2_000, help="records per alternation")
    parser.add_argument("--cpu", type=int, default=0, help="the CPU to pin the process to")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})

    info = machine()
    recs = records(args.records)
    pricer, events = meterstream_side(recs)
    lite_price, usages = litellm_side(recs)
    agreement = compare_costs(recs, pricer, events, lite_price, usages)  # also warms both up
    # Move everything alive now (LiteLLM's large module state, the prebuilt records) out of the
    # collector's reach, so a collection during one side's turn does not traverse the other's heap.
    gc.collect()
    gc.freeze()

    # Each round alternates chunks (LiteLLM prices 1/share of what meterstream prices), so both
    # sides run under the same machine load; rates come from the summed times. Chunks are large
    # enough for each side to run with warm caches, as a stream does.
    chunk = max(args.chunk, args.litellm_share)
    ours_rates, lite_rates, ratios, wall_ratios = [], [], [], []
    for n in range(args.rounds):
        ours_cpu = ours_wall = lite_cpu = lite_wall = 0.0
        ours_count = lite_count = 0
        for lo in range(0, args.records, chunk):
            part = slice(lo, lo + chunk)
            cpu, wall = timed(pricer, events[part])
            ours_cpu, ours_wall, ours_count = ours_cpu + cpu, ours_wall + wall, ours_count + len(events[part])
            if (lo // chunk) % args.litellm_share == n % args.litellm_share:
                cpu, wall = timed(lite_price, recs[part], usages[part])
                lite_cpu, lite_wall, lite_count = lite_cpu + cpu, lite_wall + wall, lite_count + len(recs[part])
        ours, theirs = ours_count / ours_cpu, lite_count / lite_cpu
        ours_rates.append(ours)
        lite_rates.append(theirs)
        ratios.append(ours / theirs)
        wall_ratios.append((ours_count / ours_wall) / (lite_count / lite_wall))
        print(f"round {n + 1}: meterstream {ours:10,.0f}/s   litellm {theirs:8,.0f}/s   ratio {ours / theirs:5.1f}x "
              f"(wall-clock ratio {wall_ratios[-1]:5.1f}x)", file=sys.stderr)
    result = {
        "machine": {**info, "load_average_at_end": os.getloadavg()},
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "records": args.records, "rounds": args.rounds,
        "meterstream_events_per_s": round(statistics.median(ours_rates)),
        "litellm_events_per_s": round(statistics.median(lite_rates)),
        "ratio": round(statistics.median(ratios), 1),
        "ratio_range": [round(min(ratios), 1), round(max(ratios), 1)],
        "wall_clock_ratio": round(statistics.median(wall_ratios), 1),
        "costs": agreement,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
