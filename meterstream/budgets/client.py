"""Asking the budget owner: send a command, wait for its answer (the API, the CLI, the emitter).

A command goes to its tenant's partition of `usage.budget-commands`; the worker that owns
that partition decides it and answers on `usage.budget-replies`, keyed by request id.
Each client reads every partition of the replies topic from where it stood when the
client started (no consumer group: every client sees every answer and keeps its own), so
any number of API processes can ask at once. A command that got no answer in time is
sent again with the same request id once (the ledger answers a repeated reservation
with the hold it already granted), then the caller is told the owner did not answer.
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
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from meterstream.errors import InfrastructureUnavailable
from meterstream.settings import Settings

log = logging.getLogger(__name__)


class BudgetOwnerUnavailable(InfrastructureUnavailable):
    """The worker that decides budgets did not answer in time."""


class BudgetClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.budget_reply_timeout_seconds
        self._producer = Producer({
            **settings.kafka_producer_config(), "linger.ms": 0,
            "message.timeout.ms": int(self.timeout * 1000),
        })
        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap, "group.id": f"{settings.app_id}-budget-client",
            "enable.auto.commit": False, "fetch.wait.max.ms": 500, "fetch.error.backoff.ms": 10,
        })
        self._pending: dict[str, concurrent.futures.Future[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._assign_from_end()
        self._reader = threading.Thread(target=self._read, name="budget-replies", daemon=True)
        self._reader.start()
        self._http = httpx.Client(base_url=settings.worker_url, timeout=self.timeout, headers=settings.worker_headers())

    def _assign_from_end(self, timeout: float = 30.0) -> None:
        """Read every replies partition from its end as it is now (answers to earlier clients'
        commands are not ours). A topic created moments ago may still lack partition leaders."""
        topic = self.settings.topic_budget_replies
        deadline = time.monotonic() + timeout
        while True:
            try:
                metadata = self._consumer.list_topics(topic, timeout=10).topics.get(topic)
                if metadata is None or metadata.error is not None or not metadata.partitions:
                    raise InfrastructureUnavailable(f"the topic {topic} is missing on {self.settings.kafka_bootstrap}")
                starts = [TopicPartition(topic, partition, self._consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10)[1]) for partition in metadata.partitions]
                break
            except (KafkaException, InfrastructureUnavailable):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self._consumer.assign(starts)

    def _read(self) -> None:
        while not self._stop.is_set():
            # consume() would wait for its whole count or timeout: poll for the first, take the rest waiting.
            first = self._consumer.poll(0.05)
            for message in [] if first is None else [first, *self._consumer.consume(500, timeout=0)]:
                if message.error() is not None:
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        log.warning("budget replies: %s", message.error())
                    continue
                # A reply is keyed by its request id: every client reads every reply, and parses its own.
                with self._lock:
                    future = self._pending.pop((message.key() or b"").decode(errors="replace"), None)
                if future is None or future.done():
                    continue
                try:
                    future.set_result(orjson.loads(message.value()))
                except orjson.JSONDecodeError as error:
                    future.set_exception(error)

    def submit(self, command: dict[str, Any]) -> concurrent.futures.Future[dict[str, Any]]:
        """Send `command`; the future resolves with its answer."""
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        with self._lock:
            self._pending[command["request_id"]] = future
        self._send(command)
        return future

    def _send(self, command: dict[str, Any]) -> None:
        self._producer.produce(self.settings.topic_budget_commands, orjson.dumps(command),
                               key=command["tenant"].encode())
        self._producer.poll(0)

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
        return BudgetOwnerUnavailable(
            f"the budget owner (through the worker at {self.settings.worker_url}) did not answer within "
            f"{2 * self.timeout:.0f} s; is `meterstream worker` running?")

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
        self._stop.set()
        self._reader.join(5)
        self._producer.flush(5)
        self._consumer.close()
        self._http.close()

    def __enter__(self) -> BudgetClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
