"""The budget owner's HTTP endpoints: a tenant's budget state and the owner's metrics.

`GET /budgets/{tenant}` is answered by whichever budget owner holds the tenant's partition:
asked elsewhere, an owner forwards the request there. Owners find each other in their
consumer group: each joins with its own URL in its client id, and the group's description
(from the group coordinator) lists every member's client id and partitions.

The worker forwards its own `/budgets/...` and `/metrics` here (stream/app.py); the same
worker token guards both (stream/web_access.py).
"""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import unquote

import httpx
import orjson
from confluent_kafka.admin import AdminClient

from meterstream.metrics import CONTENT_TYPE
from meterstream.settings import Settings
from meterstream.stream.routing import home_partition
from meterstream.stream.web_access import TOKEN_NEEDED, token_check

log = logging.getLogger(__name__)

CLIENT_ID_PREFIX = "meterstream-budget-owner "
DIRECTORY_MAX_AGE_SECONDS = 2.0


def owner_client_id(url: str) -> str:
    return f"{CLIENT_ID_PREFIX}{url}"


class Owner(Protocol):
    def owns(self, partition: int) -> bool: ...

    def tenant_state_json(self, tenant_id: str) -> bytes | None: ...

    def metrics(self) -> bytes: ...


class OwnerDirectory:
    """Which budget owner's URL holds each command partition, from the consumer group."""

    def __init__(self, settings: Settings, group: str) -> None:
        self.group, self.topic = group, settings.topic_budget_commands
        self.admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
        self._urls: dict[int, str] = {}
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def url_for(self, partition: int) -> str | None:
        with self._lock:
            stale = time.monotonic() - self._read_at > DIRECTORY_MAX_AGE_SECONDS
            if partition not in self._urls or stale:
                self._urls = self._describe()
                self._read_at = time.monotonic()
            return self._urls.get(partition)

    def _describe(self) -> dict[int, str]:
        try:
            description = self.admin.describe_consumer_groups([self.group])[self.group].result(timeout=5)
        except Exception as error:  # noqa: BLE001 - a coordinator moving: asked again on the next miss
            log.info("budget owners' group not described: %r", error)
            return {}
        return {tp.partition: member.client_id.removeprefix(CLIENT_ID_PREFIX)
                for member in description.members if member.client_id.startswith(CLIENT_ID_PREFIX)
                for tp in member.assignment.topic_partitions if tp.topic == self.topic}


def _detail(text: str) -> bytes:
    return orjson.dumps({"detail": text})


def serve(owner: Owner, settings: Settings, port: int, directory: OwnerDirectory) -> ThreadingHTTPServer:
    """Start the endpoints on a thread of their own; returns the server (shutdown() stops it)."""
    accepted = token_check(settings)
    forward_headers = settings.worker_headers()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if accepted is not None and not accepted(self.headers.get("Authorization", "")):
                return self._json(401, _detail(TOKEN_NEEDED), {"WWW-Authenticate": "Bearer"})
            if self.path == "/metrics":
                return self._send(200, owner.metrics(), CONTENT_TYPE)
            if self.path.startswith("/budgets/"):
                return self._budgets(unquote(self.path.removeprefix("/budgets/")))
            return self._json(404, _detail(f"no page {self.path}"))

        def _budgets(self, tenant_id: str) -> None:
            partition = home_partition(tenant_id, settings.topic_partitions)
            if owner.owns(partition):
                body = owner.tenant_state_json(tenant_id)
                if body is None:
                    return self._json(404, _detail(f"no budgets for tenant {tenant_id}"))
                return self._json(200, body)
            url = directory.url_for(partition)
            if url is None:
                return self._json(503, _detail(f"no budget owner holds tenant {tenant_id}'s partition yet (rebalancing?)"))
            try:
                answer = httpx.get(f"{url}{self.path}", headers=forward_headers, timeout=5)
            except httpx.HTTPError as error:
                return self._json(503, _detail(f"{url}, the budget owner of tenant {tenant_id}, did not answer: {error!r}"))
            return self._send(answer.status_code, answer.content, answer.headers.get("content-type", ""))

        def _json(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self._send(status, body, "application/json", headers)

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
            log.debug(format, *args)

    server = ThreadingHTTPServer((settings.worker_host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="budget-owner-web", daemon=True).start()
    return server

