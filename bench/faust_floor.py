"""Faust's own floor on this machine: an agent with the worker's settings that does only the
framework's part of the worker's work, so the worker's rate can be read against it.

Modes, each a superset of the one before:
- `consume`: iterate the events and ack them (what Faust and aiokafka cost to read);
- `forward`: plus one send per event (the priced record);
- `tables`: plus three table writes per event, like the worker's seen, sessions and
  ledger tables (each a RocksDB put and a changelog message).

Run as `python -m bench.faust_floor MODE COUNT SECONDS RESULT_FILE` with the METERSTREAM_*
variables of a run; it writes {"rate": events/s, "cpu": events per CPU-second} and stops.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import faust

from meterstream.settings import Settings
from meterstream.stream.faust_app import app_config
from meterstream.stream.durable_commit import commit_only_sent_state

MODES = ("consume", "forward", "tables")


def build(settings: Settings, mode: str, count: int, seconds: float, result_file: str) -> faust.App:
    config = {**app_config(settings), "web_enabled": False}
    for item in filter(None, os.environ.get("FLOOR_VARIANT", "").split(",")):  # experiments: name=value
        name, _, value = item.partition("=")
        if name:
            config[name] = type(config.get(name, 0.0))(value) if name in config else float(value)
    app = faust.App(settings.app_id, **config)
    commit_only_sent_state(app)
    events = app.topic(settings.topic_events, key_type=bytes, value_type=bytes, key_serializer="raw",
                       value_serializer="raw", partitions=settings.topic_partitions)
    out = app.topic(settings.topic_priced, key_serializer="raw", value_serializer="raw",
                    partitions=settings.topic_partitions)
    tables = [app.Table(name, partitions=settings.topic_partitions, key_type=str)
              for name in ("seen", "sessions", "ledger")]
    state = {"n": 0, "t0": 0.0, "c0": 0.0, "done": False}

    def finish() -> None:
        elapsed = time.perf_counter() - state["t0"]
        cpu = time.process_time() - state["c0"]
        with open(result_file, "w") as out_file:
            json.dump({"rate": state["n"] / elapsed, "cpu": state["n"] / max(cpu, 1e-9), "events": state["n"]},
                      out_file)
        state["done"] = True
        os.kill(os.getpid(), signal.SIGTERM)

    @app.agent(events, concurrency=1)
    async def floor(stream: faust.Stream) -> None:
        async for event in stream.events():
            if state["done"]:
                continue
            message = event.message
            if state["n"] == 0:
                state["t0"], state["c0"] = time.perf_counter(), time.process_time()
            state["n"] += 1
            if mode != "consume":
                await out.send(key=message.key, value=message.value)
            if mode == "tables":
                key = f"{message.partition}:{message.offset}"
                for table in tables:
                    table[key] = {"p": message.partition, "o": message.offset}
            if state["n"] >= count or time.perf_counter() - state["t0"] >= seconds:
                finish()

    return app


def main() -> None:
    mode, count, seconds, result_file = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    if mode not in MODES:
        raise SystemExit(f"mode must be one of {MODES}")
    app = build(Settings(), mode, count, seconds, result_file)
    worker = faust.Worker(app, loglevel="warning", quiet=True)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
