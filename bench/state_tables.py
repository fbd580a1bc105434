"""What the shared state costs a request: keys and sessions on their Kafka topics (meterstream/state).

Starts its own Kafka broker (free ports) and one ApiStore, then times, one after another:
authenticating a key (an in-memory lookup), admitting usage for a known session (a catch-up
with its partition: one ListOffsets round trip), an implicit session start (a claim produced
with acks=all and read back), and admitting usage from 32 threads at once (concurrent
catch-ups share a query). Prints JSON and writes bench/results/state_tables.json.

    .venv/bin/python bench/state_tables.py
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from meterstream.api.store import ApiStore
from meterstream.devstack import KafkaBroker, ensure_topics, free_port, isolated_settings

ROOT = Path(__file__).resolve().parents[1]


def per_call_ms(calls: int, call: Callable[[int], object]) -> float:
    began = time.perf_counter()
    for n in range(calls):
        call(n)
    return round((time.perf_counter() - began) / calls * 1000, 4)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="meterstream-bench-") as tmp:
        base = Path(tmp)
        broker = KafkaBroker(data_dir=base / "kafka", port=free_port(), controller_port=free_port(), heap="384m")
        broker.start()
        try:
            settings = isolated_settings("bench", broker.bootstrap, "", base / "data")
            ensure_topics(settings)
            store = ApiStore(settings).wait_ready()
            key, _ = store.create_key("acme")
            store.session_for_usage("acme", "known", None)
            per_call_ms(100, lambda n: store.session_for_usage("acme", "known", None))  # warm up
            result = {
                "authenticate_ms": per_call_ms(20_000, lambda n: store.authenticate(key)),
                "admit_known_session_ms": per_call_ms(2_000, lambda n: store.session_for_usage("acme", "known", None)),
                "implicit_start_ms": per_call_ms(300, lambda n: store.session_for_usage("acme", f"new-{n}", None)),
                "create_key_ms": per_call_ms(100, lambda n: store.create_key("acme")),
            }
            with concurrent.futures.ThreadPoolExecutor(32) as pool:
                began = time.perf_counter()
                list(pool.map(lambda n: store.session_for_usage("acme", "known", None), range(8_000)))
                result["admit_32_threads_per_s"] = round(8_000 / (time.perf_counter() - began))
            store.close()
        finally:
            broker.stop()
    result["load_average_1m"] = os.getloadavg()[0]
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "state_tables.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
