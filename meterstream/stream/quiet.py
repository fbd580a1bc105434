"""What the worker's libraries log that is no news: kept out of a normal start and a normal batch.

- aiokafka logs `Group Coordinator Request failed: [Error 15] CoordinatorNotAvailableError` at
  ERROR while a fresh broker is still creating `__consumer_offsets`, then carries on: at a
  normal start beside a new broker this is expected. Those lines are held back; if the
  coordinator is still missing after `PATIENCE_SECONDS`, one WARNING says so (and every later
  failure is shown as it comes).
- Faust's producer buffer warns "producer buffer full" whenever more than 100 table writes wait
  to be sent, which a batch of 1,000 messages does by design (each key written once per batch,
  stream/batch.py): eight warnings per batch. The buffer's bound is raised to what a batch writes,
  so the warning means again that sends lag behind.
"""

from __future__ import annotations

import logging
import time

from faust.transport.producer import ProducerBuffer

from meterstream.settings import Settings

PATIENCE_SECONDS = 30.0
COORDINATOR_LOGGER = "aiokafka.consumer.group_coordinator"
NOT_YET = ("CoordinatorNotAvailable", "GroupCoordinatorNotAvailable", "NotCoordinator")
# Table entries one metered message may write in a batch: session totals, de-duplication id,
# ledger, positions (stream/batch.py), with room for the budget spend commands.
WRITES_PER_MESSAGE = 6


class CoordinatorNotYet(logging.Filter):
    """Holds back 'no group coordinator yet' errors for the first PATIENCE_SECONDS of a wait."""

    def __init__(self, patience: float = PATIENCE_SECONDS) -> None:
        super().__init__()
        self.patience = patience
        self.waiting_since: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if not any(name in text for name in NOT_YET):
            self.waiting_since = None  # anything else: a later wait starts afresh
            return True
        now = time.monotonic()
        if self.waiting_since is None:
            self.waiting_since = now
        if now - self.waiting_since < self.patience:
            return False
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg, record.args = f"still no group coordinator after {self.patience:.0f} s: %s", (text,)
        return True


def quiet_libraries(settings: Settings) -> None:
    """Install both (idempotent): call once per worker process, before the app starts."""
    logger = logging.getLogger(COORDINATOR_LOGGER)
    if not any(isinstance(f, CoordinatorNotYet) for f in logger.filters):
        logger.addFilter(CoordinatorNotYet())
    ProducerBuffer.max_messages = max(ProducerBuffer.max_messages, WRITES_PER_MESSAGE * settings.worker_batch_size)
