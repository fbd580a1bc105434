"""`meterstream demo` as a user runs it: its own broker, worker and sink, then a report."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from meterstream.devstack import free_port


def demo_env(tmp_path: Path) -> dict[str, str]:
    port = free_port()
    return {
        **os.environ,
        "METERSTREAM_DATA_DIR": str(tmp_path),
        "METERSTREAM_KAFKA_PORT": str(port),
        "METERSTREAM_KAFKA_CONTROLLER_PORT": str(free_port()),
        "METERSTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
        "METERSTREAM_WORKER_PORT": str(free_port()),
        "METERSTREAM_KAFKA_HEAP": "256m",
        "COLUMNS": "80",
    }


def test_the_demo_finishes_on_its_own_with_live_totals_and_a_matching_report(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "meterstream", "demo", "--events", "400", "--rate", "2000"],
        env=demo_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Live session totals" in output
    assert "ClickHouse report: Cost by service and model" in output
    assert "match" in output and "differ" not in output
    assert "Insights: how to spend less" in output
    assert not (tmp_path / "demo" / "kafka" / "broker.pid").exists(), "the broker was left running"
    # An 80-column terminal: no name is cut, and nothing from librdkafka follows the report.
    report = output[output.index("ClickHouse report: Cost by service and model"):]
    assert "…" not in report, report
    for name in ("veo-3.0-generate", "imagen-4.0-generate", "gemini-2.5-flash", "video", "image", "speech"):
        assert name in report, name
    assert "Connection refused" not in output and "connection closed by peer" not in output, output


def test_ctrl_c_stops_the_demo_and_its_broker_cleanly(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "meterstream", "demo", "--events", "100000", "--rate", "200"],
        env=demo_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    pid_file = tmp_path / "demo" / "worker.log"
    deadline = time.monotonic() + 120
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(10)  # let the worker come up and events flow
    process.send_signal(signal.SIGINT)
    # Stopping waits for Faust's shutdown and the broker's (up to 30 s each on a loaded machine).
    output, _ = process.communicate(timeout=240)
    assert process.returncode in (0, 130), output
    assert not (tmp_path / "demo" / "kafka" / "broker.pid").exists(), output
