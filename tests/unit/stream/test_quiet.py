"""The held-back 'no coordinator yet' errors of a fresh broker."""

import logging

from meterstream.stream.quiet import CoordinatorNotYet


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("aiokafka.consumer.group_coordinator", logging.ERROR, __file__, 1,
                             "Group Coordinator Request failed: %s", (message,), None)


def test_a_short_wait_for_the_coordinator_is_not_logged():
    held = CoordinatorNotYet(patience=60)
    assert not held.filter(_record("[Error 15] CoordinatorNotAvailableError"))
    assert held.filter(_record("[Error 7] RequestTimedOutError"))  # other errors pass as they are


def test_a_long_wait_is_one_warning():
    held = CoordinatorNotYet(patience=0)
    record = _record("[Error 15] CoordinatorNotAvailableError")
    assert held.filter(record)
    assert record.levelname == "WARNING" and "still no group coordinator" in record.getMessage()
