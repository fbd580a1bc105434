"""State every API host shares: compacted Kafka topics read as in-memory tables.

`table.py` is the Kafka side (a reader thread from the beginning of the topic, writes that
wait until they are read back, reads that wait until this process has caught up with the
topic's end). `views.py` holds what a table turns its records into: pure code, tested
without a broker, so every process that reads the same records computes the same state.
"""

from meterstream.state.table import TopicTable
from meterstream.state.views import LatestByKey, View, stable_partition

__all__ = ["LatestByKey", "TopicTable", "View", "stable_partition"]
