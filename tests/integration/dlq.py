"""Reading back everything the pipeline dead-lettered."""

from __future__ import annotations

from dataclasses import dataclass

from meterstream.reconcile import read_topic
from meterstream.settings import Settings


@dataclass(frozen=True)
class DeadLetterRecord:
    value: bytes | None
    reason: str
    source: str
    index: int | None = None  # in its batch envelope


def read_dead_letters(settings: Settings) -> list[DeadLetterRecord]:
    """The whole DLQ topic as it stands (a replay after a crash may repeat a record)."""
    records = []
    for message in read_topic(settings, settings.topic_dlq, "dlq-reader"):
        headers = {k: v.decode() for k, v in message.headers() or []}
        index = headers.get("meterstream-index")
        records.append(DeadLetterRecord(message.value(), headers["meterstream-reason"], headers["meterstream-source"],
                                        None if index is None else int(index)))
    return records
