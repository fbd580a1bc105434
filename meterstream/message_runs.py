"""Cutting a sequence of records into runs that each fit one Kafka message.

The router's routed messages, the emitter's envelopes and the worker's priced batches all
carry many records and must stay under the broker's message limit, so each cuts its
records the same way: in order, a new run once the next record would pass the byte budget
or the run holds `max_items` (a record larger than the budget alone gets a run of its own).
"""

from __future__ import annotations

from collections.abc import Sequence

# Under the broker's default 1 MB message size with room to spare for the request around it.
MAX_MESSAGE_BYTES = 512 * 1024


def runs_within(sizes: Sequence[int], max_bytes: int = MAX_MESSAGE_BYTES,
                max_items: int | None = None) -> list[range]:
    """The consecutive index ranges of records of these `sizes`, each within the limits."""
    runs: list[range] = []
    start, total = 0, 0
    for index, size in enumerate(sizes):
        full = max_items is not None and index - start >= max_items
        if index > start and (full or total + size > max_bytes):
            runs.append(range(start, index))
            start, total = index, 0
        total += size
    if start < len(sizes):
        runs.append(range(start, len(sizes)))
    return runs
