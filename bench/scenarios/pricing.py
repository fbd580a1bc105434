"""4. Pricing: events priced per second on one core, against LiteLLM's cost_per_token.

Reuses issue 3's benchmark (bench/pricing_throughput.py): the same Gemini text records
priced by meterstream's Pricer (a full PricedUsage) and by LiteLLM's `cost_per_token` (two
floats), alternating in chunks so both see the same load, CPU time of this thread. LiteLLM
comes with the `bench` extra (`./dev bench` installs it); without it the baseline line says
so. A second line prices the stream's realistic mix (all four billing units), outside
the comparison issue 3 made, so without a baseline.
"""

from __future__ import annotations

import time

from bench import pricing_throughput as issue3
from bench.data import EventFactory
from bench.harness import BenchEnv, Result, median
from meterstream.pricing import Pricer, load_catalog

LITELLM_SHARE = 10  # LiteLLM prices a tenth of the records per round: it is ~20x slower


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    records = issue3.records(scale.pricing_events)
    price, events = issue3.meterstream_side(records)
    try:
        lite_price, usages = issue3.litellm_side(records)
    except ImportError:
        lite_price = usages = None
    ours, theirs, ratios = [], [], []
    chunk = max(1, len(records) // 10)
    for _ in range(scale.runs):
        cpu_ours = cpu_theirs = 0.0
        done_ours = done_theirs = 0
        for start in range(0, len(records), chunk):
            cpu, _ = issue3.timed(price, events[start:start + chunk])
            cpu_ours, done_ours = cpu_ours + cpu, done_ours + len(events[start:start + chunk])
            if lite_price is not None:
                part = slice(start, start + max(1, chunk // LITELLM_SHARE))
                cpu, _ = issue3.timed(lite_price, records[part], usages[part])
                cpu_theirs, done_theirs = cpu_theirs + cpu, done_theirs + len(records[part])
        ours.append(done_ours / cpu_ours)
        if lite_price is not None:
            theirs.append(done_theirs / cpu_theirs)
            ratios.append(ours[-1] / theirs[-1])
    baseline = "LiteLLM cost_per_token, same records" if lite_price else \
        "LiteLLM cost_per_token: not installed (pip install -e '.[bench]')"
    line = Result("4. Pricing", "Pricer.price, issue 3's Gemini text records (CPU time, one core)", "events/s", ours,
                  baseline, theirs, target="≥ 20× LiteLLM (issue 3)", note=f"{len(records):,} records")
    if lite_price is not None and scale.name == "full":
        line.met = median(ratios) >= 20

    pricer = Pricer(load_catalog())
    factory = EventFactory(1000, prefix="pricing")
    mix = [factory.next_model() for _ in range(scale.pricing_events)]
    rates = []
    for _ in range(scale.runs):
        start = time.thread_time()
        for event in mix:
            pricer.price(event)
        rates.append(len(mix) / (time.thread_time() - start))
    return [line, Result("4. Pricing", "Pricer.price, the stream's mix of all four billing units", "events/s", rates,
                         "none: issue 3 compares the token records both catalogs price")]
