"""The sink contract: take a batch of priced records, store it, then let offsets be committed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from meterstream.schemas import PricedUsage


class Sink(ABC):
    @abstractmethod
    def write(self, records: Sequence[PricedUsage], batch_id: str) -> None:
        """Store the records durably. Writing the same batch_id twice must store them once."""
