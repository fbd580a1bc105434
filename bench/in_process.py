"""The in-process limit: the worker's metering code in a plain loop, without Kafka or Faust.

The same `MeteringProcessor` the worker runs, over plain dicts as tables, fed the bytes the
worker reads, with the priced records encoded per batch as the worker sends them. What
the worker reaches beside this is the share of its time that goes to the framework and
the broker (issue 12 asks for the worker to reach half of it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from meterstream.pricing import Pricer, load_catalog, load_tenants
from meterstream.schemas import PricedUsage
from meterstream.schemas.priced_batch import encode_priced
from meterstream.settings import Settings
from meterstream.stream.processor import MeteringProcessor


def in_process_rate(settings: Settings, values: Sequence[bytes]) -> float:
    """Events metered per CPU-second of this thread: `values` as messages of one partition,
    `settings.worker_batch_size` at a time, each batch's priced records encoded as the worker does."""
    pricer = Pricer(load_catalog(settings.catalog), load_tenants(settings.tenant_pricing_file))
    processor = MeteringProcessor(pricer, {}, {}, settings.topic_events, ledger={}, positions={})
    batch = settings.worker_batch_size
    start = time.thread_time()
    for first in range(0, len(values), batch):
        priced: list[PricedUsage] = []
        for offset in range(first, min(first + batch, len(values))):
            outcome = processor.process(values[offset], 0, offset)
            if outcome.priced is not None:
                priced.append(outcome.priced)
        encode_priced(priced)
    return len(values) / (time.thread_time() - start)
