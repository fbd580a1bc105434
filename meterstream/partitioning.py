"""Where a keyed Kafka message lands: the partitioners the package's producers use.

The Java client, Faust and our own producers (`partitioner: murmur2_random`) place a key at
murmur2(key) % partitions; librdkafka's default (`consistent_random`) uses CRC32. Both are
computed here so that a producer can tell, before producing, which keys share a partition.
"""

from __future__ import annotations

import zlib
from functools import lru_cache

from aiokafka.partitioner import murmur2


# aiokafka's murmur2 is pure Python: the router's largest cost, a tenth of the worker's CPU
# (py-spy, bench/ scenario 1), and the emitter places every event with it. Sessions send
# many events, so each key's placement is kept.
@lru_cache(maxsize=1 << 16)
def murmur2_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def crc32_partition(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


# librdkafka's `partitioner` values for keyed messages, those that place a key deterministically
KEYED_PARTITIONERS = {
    "murmur2": murmur2_partition, "murmur2_random": murmur2_partition,
    "consistent": crc32_partition, "consistent_random": crc32_partition,
}
