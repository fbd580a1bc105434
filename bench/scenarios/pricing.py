"""4. Pricing: events priced per second on one core.

SLOT for issue 3: the pricing engineer (branch `pricing`) adds the pricing-vs-LiteLLM
benchmark (`cost_per_token` on the same usage) and its BENCHMARKS.md section. Until that
lands on main this scenario reports meterstream's own `price_event` rate, so the number
is tracked, and names the missing baseline instead of inventing one.
"""

from __future__ import annotations

import time

from bench.data import EventFactory
from bench.harness import BenchEnv, Result
from meterstream.pricing import load_catalog, price_event

PENDING = "LiteLLM cost_per_token: pending issue 3 (branch pricing)"


def run(env: BenchEnv) -> list[Result]:
    scale = env.scale
    catalog = load_catalog()
    factory = EventFactory(1000, prefix="pricing")
    events = [factory.next_model() for _ in range(scale.pricing_events)]
    rates = []
    for _ in range(scale.runs):
        start = time.process_time()
        for event in events:
            price_event(catalog, event)
        rates.append(len(events) / (time.process_time() - start))
    return [Result("4. Pricing", "price_event, realistic mix (CPU time, one core)", "events/s", rates, PENDING)]
