"""Reading back what the worker dead-lettered."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import Consumer


@dataclass(frozen=True)
class DeadLetterRecord:
    value: bytes | None
    reason: str
    source: str


def read_dead_letters(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[DeadLetterRecord]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"dlq-reader-{topic}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    records: list[DeadLetterRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            headers = {k: v.decode() for k, v in message.headers() or []}
            records.append(DeadLetterRecord(message.value(), headers["meterstream-reason"], headers["meterstream-source"]))
    finally:
        consumer.close()
    return records
