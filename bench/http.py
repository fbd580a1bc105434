"""HTTP load on the API from a benchmark: `meterstream serve --no-sink` as its own process, and
requests over kept-alive connections, written and read by hand (httpx would spend more of the
two cores in the load generator than the API spends answering)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench.harness import wait_for
from meterstream.devstack import free_port
from meterstream.processes import terminate
from meterstream.settings import Settings, settings_env


class HttpPool:
    """Kept-alive HTTP/1.1 connections, requests written and responses read by hand."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def open(self, count: int) -> None:
        for _ in range(count):
            self.idle.append(await asyncio.open_connection(self.host, self.port))

    async def request(self, raw: bytes) -> int:
        """Send one request; returns its status. A connection the server closed is replaced once."""
        for attempt in range(2):
            reader, writer = self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                if attempt:
                    raise
                continue
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            self.idle.append((reader, writer))
            return int(head[9:12])
        raise AssertionError("unreachable")

    async def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


def http_request(method: str, path: str, key: str | None = None, body: dict[str, Any] | None = None) -> bytes:
    data = orjson.dumps(body) if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if key:
        head.append(f"Authorization: Bearer {key}")
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


class ApiProcess:
    """`meterstream serve --no-sink` on a free port, with a ClickHouse folder of its own."""

    def __init__(self, settings: Settings, state_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        own = settings.data_dir / "api"
        own.mkdir(parents=True, exist_ok=True)
        self.log_path = own / "api.log"
        env = {**os.environ, **settings_env(settings), "METERSTREAM_CLICKHOUSE_DSN": f"chdb://{own / 'clickhouse'}",
               "METERSTREAM_API_PORT": str(self.port), "METERSTREAM_API_STATE_PATH": str(state_path)}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "meterstream", "serve", "--no-sink"], env=env,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 90) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API exited ({self.process.returncode}); see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_for(up, timeout, f"the API on {self.url}", interval=0.2)

    def stop(self) -> None:
        terminate(self.process, 20)


async def closed_loop(url: str, requests: Sequence[bytes], expect: int, clients: int,
                      seconds: float, warmup: float = 1.0) -> tuple[list[float], int, int]:
    """`clients` connections, each sending its next request as soon as the last one answered,
    taking `requests` in turn (round and round). Returns the latencies (s) after the warm-up,
    how many of those answered another status than `expect`, and how many were sent in all."""
    host, port = url.removeprefix("http://").split(":")
    pool = HttpPool(host, int(port))
    await pool.open(clients)
    latencies: list[float] = []
    failures = 0
    sent = 0
    start = time.perf_counter()
    timed_from, end = start + warmup, start + warmup + seconds

    async def client() -> None:
        nonlocal failures, sent
        while (began := time.perf_counter()) < end:
            raw = requests[sent % len(requests)]
            sent += 1
            status = await pool.request(raw)
            if began >= timed_from:
                latencies.append(time.perf_counter() - began)
                failures += status != expect

    try:
        await asyncio.gather(*(client() for _ in range(clients)))
    finally:
        await pool.close()
    return latencies, failures, sent
