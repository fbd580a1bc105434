"""Reading a batch from confluent-kafka without waiting for it to fill."""

from __future__ import annotations

from confluent_kafka import Consumer, Message


def consume_ready(consumer: Consumer, limit: int, timeout: float) -> list[Message]:
    """Wait up to `timeout` for one message, then take whatever else is already fetched, up to
    `limit` in all. `Consumer.consume(limit, timeout)` waits for `limit` messages or the whole
    timeout: one alert produced alone waited the full 0.5 s there (bench/, budgets scenario)."""
    first = consumer.poll(timeout)
    if first is None:
        return []
    return [first, *consumer.consume(limit - 1, 0)] if limit > 1 else [first]
