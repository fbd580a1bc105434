"""Push latency of the live usage tracker: event recorded through the API -> tracker updated.

Starts its own Kafka broker (free ports), a worker, the sink and the API with the built
dashboard, then drives headless Chromium (web/e2e/dashboard.e2e.mjs) to record EVENTS
events one after another from the page; the page's clock times each from just before the
POST to the moment the tracker's operation count shows it. Prints p50/p95/max and writes
bench/results/push_latency.json.

    .venv/bin/python bench/push_latency.py [EVENTS]    # default 120; needs web built and chromium
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from meterstream.api import ApiSettings
from meterstream.api.serve import ApiServer
from meterstream.devstack import KafkaBroker, free_port
from meterstream.devstack.pipeline import LocalPipeline
from meterstream.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(events: int) -> None:
    with tempfile.TemporaryDirectory(prefix="meterstream-bench-") as tmp:
        base = Path(tmp)
        broker = KafkaBroker(data_dir=base / "kafka", port=free_port(), controller_port=free_port(), heap="384m")
        broker.start()
        try:
            run = f"bench_{uuid.uuid4().hex[:8]}"
            settings = Settings(
                data_dir=base / "data", kafka_bootstrap=broker.bootstrap, worker_port=free_port(),
                clickhouse_database=run, app_id=f"meterstream-{run}", store="memory://",
            )
            api_settings = ApiSettings(port=free_port(), state_path=base / "api.sqlite3")
            with LocalPipeline(settings, own_broker=False), ApiServer(settings, api_settings) as server:
                key, _ = server.services.store.create_key("bench", "push latency")
                env = {**os.environ, "API_URL": server.url, "API_KEY": key, "EVENTS": str(events),
                       "OUT_DIR": str(base / "shots")}
                done = subprocess.run(["node", "e2e/dashboard.e2e.mjs"], cwd=ROOT / "web", env=env,
                                      capture_output=True, text=True, check=True)
        finally:
            broker.stop()
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    latencies, accepted = seen["latencies_ms"], seen["accepted_ms"]
    result = {
        "events": len(latencies),
        "poll_interval_s": api_settings.live_poll_seconds,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "under_1s": sum(1 for x in latencies if x < 1000),
        "post_p50_ms": round(statistics.median(accepted), 1),
        "post_p95_ms": round(percentile(accepted, 0.95), 1),
        "load_average_1m": os.getloadavg()[0],
    }
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "push_latency.json").write_text(json.dumps({**result, "latencies_ms": latencies}, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 120)
