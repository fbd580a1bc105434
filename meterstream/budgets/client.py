"""Asking the budget owner: send a command, wait for its answer (the API, the CLI, the emitter).

A command goes to its tenant's partition of `usage.budget-commands`; the worker that owns
that partition decides it and answers the client that asked: straight to the port it
listens on, or through `usage.budget-replies` (replies.py says when each). Any number of
API processes can ask at once. A command that got no answer in time is sent again with
the same request id once (the ledger answers a repeated reservation with the hold it
already granted), then the caller is told the owner did not answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from typing import Any

import httpx
import orjson
from confluent_kafka import Producer

from meterstream.budgets.replies import KafkaReplies, ReplyListener
from meterstream.errors import InfrastructureUnavailable
from meterstream.settings import Settings

log = logging.getLogger(__name__)

LINGER_MS = 5  # how long a command that is not a reservation waits for others to share its request


class BudgetOwnerUnavailable(InfrastructureUnavailable):
    """The worker that decides budgets did not answer in time."""


class BudgetClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.budget_reply_timeout_seconds
        # A reservation waits for its answer, so it leaves at once, alone, uncompressed
        # (compressing one small command costs this process and the broker, which checks
        # every compressed batch, more than the bytes it saves). Everything else (releases,
        # definitions) lingers a few ms on a producer of its own, so that the releases of
        # many calls share a request: at 1,000 reservations/s that halved the requests the
        # broker answered, and with them the CPU the reservations compete with.
        config = {**settings.kafka_producer_config(), "compression.type": "none",
                  "message.timeout.ms": int(self.timeout * 1000)}
        self._producer = Producer({**config, "linger.ms": 0})
        self._lingering = Producer({**config, "linger.ms": LINGER_MS})
        self._pending: dict[str, concurrent.futures.Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._replies: ReplyListener | KafkaReplies
        if settings.budget_replies == "direct":
            self._replies = ReplyListener(settings.budget_reply_host, self._resolve)
            self._reply_to: dict[str, str] = {"reply_to": self._replies.address}
        else:
            self._replies, self._reply_to = KafkaReplies(settings, self._resolve), {}
        self._http = httpx.Client(base_url=settings.worker_url, timeout=self.timeout, headers=settings.worker_headers())

    def _resolve(self, request_id: str, answer: Any) -> None:
        with self._lock:
            future = self._pending.pop(request_id, None)
        if future is None or future.done():
            if isinstance(answer, Exception):
                log.warning("an unreadable budget answer: %r", answer)
            return
        if isinstance(answer, Exception):
            future.set_exception(answer)
        else:
            future.set_result(answer)

    def submit(self, command: dict[str, Any]) -> concurrent.futures.Future[dict[str, Any]]:
        """Send `command`; the future resolves with its answer. Reservations leave on a producer
        of their own, so a reservation sent before the answer to an earlier command of
        another kind may be decided before it: wait for that answer when the order matters."""
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        with self._lock:
            self._pending[command["request_id"]] = future
        self._send(command)
        return future

    def _send(self, command: dict[str, Any]) -> None:
        producer = self._producer if command["kind"] == "reserve" else self._lingering
        producer.produce(self.settings.topic_budget_commands, orjson.dumps({**command, **self._reply_to}),
                         key=command["tenant"].encode())
        producer.poll(0)

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send `command` and wait for its answer (blocking; the CLI and the emitter)."""
        future = self.submit(command)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            self._send(command)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            self._forget(command)
            raise self._unavailable() from None

    async def ask_async(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send `command` and wait for its answer without blocking the event loop (the API)."""
        future = asyncio.wrap_future(self.submit(command))
        for attempt in range(2):
            try:
                return await asyncio.wait_for(asyncio.shield(future), self.timeout)
            except TimeoutError:
                if attempt == 0:
                    self._send(command)
        self._forget(command)
        raise self._unavailable()

    def _forget(self, command: dict[str, Any]) -> None:
        with self._lock:
            self._pending.pop(command["request_id"], None)

    def _unavailable(self) -> BudgetOwnerUnavailable:
        where = (f"; its answers come to {self._reply_to['reply_to']}: if budget owners run on another host, "
                 "set METERSTREAM_BUDGET_REPLY_HOST to an address of this host they reach, or "
                 "METERSTREAM_BUDGET_REPLIES=kafka" if self._reply_to else "")
        return BudgetOwnerUnavailable(
            f"the budget owner (through the worker at {self.settings.worker_url}) did not answer within "
            f"{2 * self.timeout:.0f} s; is `meterstream worker` running?{where}")

    def tenant_state(self, tenant_id: str) -> dict[str, Any] | None:
        """The tenant's budget state as the worker holds it; None if it has none. Waits up to
        the reply timeout for a budget owner that is still starting (the worker answers 503)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                response = self._http.get(f"/budgets/{tenant_id}")
            except httpx.HTTPError as error:
                raise BudgetOwnerUnavailable(f"the worker at {self.settings.worker_url} did not answer: "
                                             f"{error!r}") from None
            if response.status_code != 503:
                break
            if time.monotonic() > deadline:
                raise BudgetOwnerUnavailable(f"the worker at {self.settings.worker_url} has no budget owner "
                                             f"answering: {response.json().get('detail')}")
            time.sleep(0.2)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self._replies.close()
        self._producer.flush(5)
        self._lingering.flush(5)
        self._http.close()

    def __enter__(self) -> BudgetClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
