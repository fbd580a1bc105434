"""The sink contract: store priced records so that storing the same record twice stores it once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from meterstream.schemas import PricedUsage


@dataclass(frozen=True)
class SinkRecord:
    """A priced record and its own position in usage.priced."""

    priced: PricedUsage
    partition: int
    offset: int


class Sink(ABC):
    @abstractmethod
    def write(self, records: Sequence[SinkRecord], batch_id: str) -> None:
        """Store the records. Writing the same batch_id again must not store them twice."""

    @abstractmethod
    def stored_offsets(self) -> dict[int, int]:
        """The highest usage.priced offset stored, per partition."""

    @abstractmethod
    def already_stored(self, records: Sequence[SinkRecord]) -> set[UUID]:
        """Which of these records' event_ids are stored already."""

    def is_retryable(self, error: Exception) -> bool:
        """Whether retrying the same batch may succeed (an outage), rather than a bad record."""
        return not isinstance(error, (ValueError, TypeError, OverflowError))
