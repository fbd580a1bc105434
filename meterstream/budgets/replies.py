"""How a budget owner's answer gets back to the client that asked.

Direct (the default): the client listens on a TCP port of its own and names it in each
command (`reply_to`); the owner connects there and writes the answer, one JSON object per
line. A reservation then costs one broker hop (the command), not two: the replies topic
was a second produce and fetch per answer, and every client read every answer. Answers
need no durability (owner.py): one that is lost is asked again by the client's re-send,
and the owner answers a repeated command alike. Request ids are random (commands.py), so
a process that connects to the port cannot answer a pending command it has not seen.

Kafka (`METERSTREAM_BUDGET_REPLIES=kafka`): answers go to `usage.budget-replies`, keyed by
request id, and every client reads the whole topic. For clients the owners cannot connect
to (behind NAT, a firewall that only lets Kafka through).
"""

from __future__ import annotations

import logging
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from meterstream.errors import InfrastructureUnavailable
from meterstream.settings import Settings

log = logging.getLogger(__name__)

OnReply = Callable[[str, Any], None]  # (request id, the answer or the exception it raised)

# After a failed connection the owner drops answers to that address for this long, so a
# client that went away costs one failed connect, not one per answer.
UNREACHABLE_FOR_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 1.0


def _parse(line: bytes) -> tuple[str, Any]:
    try:
        reply = orjson.loads(line)
        return str(reply["request_id"]), reply
    except (orjson.JSONDecodeError, KeyError, TypeError) as error:
        return "", error


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


# -- the client's side ------------------------------------------------------------------------------

class ReplyListener:
    """A TCP port that budget owners connect to with answers; a thread reads them."""

    def __init__(self, host: str, on_reply: OnReply) -> None:
        self._server = socket.create_server((host, 0))
        self._server.setblocking(False)
        port = self._server.getsockname()[1]
        self.address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._on_reply = on_reply
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._server, selectors.EVENT_READ)
        self._buffers: dict[socket.socket, bytes] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="budget-replies", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.2):
                if key.fileobj is self._server:
                    self._accept()
                else:
                    self._read(key.fileobj)  # type: ignore[arg-type]

    def _accept(self) -> None:
        try:
            connection, _ = self._server.accept()
        except BlockingIOError:
            return
        connection.setblocking(False)
        self._buffers[connection] = b""
        self._selector.register(connection, selectors.EVENT_READ)

    def _read(self, connection: socket.socket) -> None:
        try:
            data = connection.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._selector.unregister(connection)
            self._buffers.pop(connection, None)
            connection.close()
            return
        *lines, self._buffers[connection] = (self._buffers[connection] + data).split(b"\n")
        for line in lines:
            self._on_reply(*_parse(line))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()
        # It refers back to the client: without it the client and its producer go when the caller
        # lets go of them, not at some later garbage collection (when the broker may be gone).
        del self._on_reply


class KafkaReplies:
    """Every partition of the replies topic, read from where it stood when the client
    started (answers to earlier clients' commands are not ours); no consumer group."""

    def __init__(self, settings: Settings, on_reply: OnReply) -> None:
        self._settings = settings
        self._on_reply = on_reply
        self._consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap, "group.id": f"{settings.app_id}-budget-client",
            "enable.auto.commit": False, "fetch.wait.max.ms": 500, "fetch.error.backoff.ms": 10,
        })
        self._assign_from_end()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="budget-replies", daemon=True)
        self._thread.start()

    def _assign_from_end(self, timeout: float = 30.0) -> None:
        # A topic created moments ago may still lack partition leaders.
        topic = self._settings.topic_budget_replies
        deadline = time.monotonic() + timeout
        while True:
            try:
                metadata = self._consumer.list_topics(topic, timeout=10).topics.get(topic)
                if metadata is None or metadata.error is not None or not metadata.partitions:
                    raise InfrastructureUnavailable(f"the topic {topic} is missing on {self._settings.kafka_bootstrap}")
                starts = [TopicPartition(topic, partition, self._consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10)[1]) for partition in metadata.partitions]
                break
            except (KafkaException, InfrastructureUnavailable):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self._consumer.assign(starts)

    def _run(self) -> None:
        while not self._stop.is_set():
            # consume() would wait for its whole count or timeout: poll for the first, take the rest waiting.
            first = self._consumer.poll(0.05)
            for message in [] if first is None else [first, *self._consumer.consume(500, timeout=0)]:
                if message.error() is not None:
                    if message.error().code() != KafkaError._PARTITION_EOF:
                        log.warning("budget replies: %s", message.error())
                    continue
                self._on_reply(*_parse(message.value()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()
        del self._on_reply  # as ReplyListener.close


# -- the owner's side -------------------------------------------------------------------------------

class DirectReplier:
    """Writes answers to the addresses their commands named, on a thread of its own, so a
    slow or unreachable client never holds up the owner's loop."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[dict[str, list[bytes]] | None] = queue.SimpleQueue()
        self._connections: dict[str, socket.socket] = {}
        self._unreachable_until: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name="budget-direct-replies", daemon=True)
        self._thread.start()

    def send(self, answers: dict[str, list[bytes]]) -> None:
        """`answers`: address -> encoded answers for it."""
        if answers:
            self._queue.put(answers)

    def _run(self) -> None:
        while (answers := self._queue.get()) is not None:
            for address, lines in answers.items():
                self._write(address, b"\n".join(lines) + b"\n")

    def _write(self, address: str, data: bytes) -> None:
        if time.monotonic() < self._unreachable_until.get(address, 0.0):
            return
        while True:
            connection = self._connections.pop(address, None)
            fresh = connection is None
            try:
                if connection is None:
                    connection = socket.create_connection(split_address(address), timeout=CONNECT_TIMEOUT_SECONDS)
                    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection.sendall(data)
                self._connections[address] = connection
                return
            except (OSError, ValueError) as error:
                if connection is not None:
                    connection.close()
                if fresh:  # the client re-sends its command, and is answered again
                    log.info("budget answers to %s dropped: %r", address, error)
                    self._unreachable_until[address] = time.monotonic() + UNREACHABLE_FOR_SECONDS
                    return
                # a connection the client has closed since: try a new one

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5)
        for connection in self._connections.values():
            connection.close()
