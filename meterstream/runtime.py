"""What a long-running meterstream process does once it has started."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Keep what starting made (modules, schemas, settings, clients) out of garbage collection.

    CPython's full collection walks every container object the process holds. In an API
    process that asked for 1,000 reservations a second, those walks stalled its event loop
    for 30-100 ms a few times a minute, which was most of the reservation p99 (BENCHMARKS.md,
    scenario 8). Frozen objects are never walked again; what the process makes afterwards is
    collected as before. Collected first, so that no garbage is frozen with them.
    """
    gc.collect()
    gc.freeze()
