"""The worker's own access to Faust's table stores: a batch's changes written as Faust would, with
one produce batch per changelog partition, and a partition's stored items read for the seen ids' expiry.

Faust sends a changelog record per table write through its producer buffer: a future, a
callback, a pending-message object and an aiokafka `send` each, then a RocksDB put of the
table's persisted offset once it is delivered. At about two records per event that was
most of a catch-up's time, and it came in bursts: the worker metered quickly while the
buffer filled, then stood still for seconds while the offset commit waited for it to drain
(bench/, scenario 1's profile, docs/benchmarks-history.md).

Here a batch's changes go to the table's RocksDB store with the bytes and under the
partition Faust would use, and to the changelog as closed aiokafka batches, one per
partition unless it passes the producer's batch size; a delivered batch sets the persisted
offset once. What Faust reads back (a restore, a standby replica) is unchanged: the same
records on the same topic. The offset commit waits for these batches as for any send
(aiokafka's flush), and one the producer gives up on stops the worker for a replay.
A store other than RocksDB (memory://, for experiments) is written through the table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import faust
from faust.stores.rocksdb import Store as RocksDBStore
from faust.types import TP

from meterstream.stream.batch import BatchedTable
from meterstream.stream.faust_app import stop_unless_delivered


async def write_changes(table: faust.Table, batched: BatchedTable) -> None:
    """Write what `batched` holds to `table`'s store and changelog, then forget it."""
    store = table.data
    if not isinstance(store, RocksDBStore):
        batched.flush()
        return
    by_partition: dict[int, list[tuple[bytes, bytes | None]]] = {}
    for key, value, event in batched.take():
        encoded = None if value is None else store._encode_value(value)
        by_partition.setdefault(event.message.partition, []).append((store._encode_key(key), encoded))
    producer = table.app.producer._ensure_producer()
    topic = table.changelog_topic.get_topic_name()
    for partition, records in by_partition.items():
        _store(store, partition, records)
        for batch in _batches(producer, records):
            batch.close()  # ready to send now, not after the producer's linger
            delivery = await producer.send_batch(batch, topic, partition=partition)
            delivery.add_done_callback(partial(_delivered, store, TP(topic, partition), batch.record_count()))


def _store(store: RocksDBStore, partition: int, records: Sequence[tuple[bytes, bytes | None]]) -> None:
    db = store._db_for_partition(partition)
    for key, value in records:
        if value is None:
            db.delete(key)
            store._key_index.pop(key, None)
        else:
            db.put(key, value)
            store._key_index[key] = partition


def _batches(producer: Any, records: Sequence[tuple[bytes, bytes | None]]) -> Iterator[Any]:
    """`records` in as few aiokafka batches as the producer's batch size allows."""
    batch = producer.create_batch()
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:  # full
            yield batch
            batch = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)  # an empty batch takes any one record
    if batch.record_count():
        yield batch


def _delivered(store: RocksDBStore, tp: TP, count: int, delivery: asyncio.Future) -> None:
    if delivery.cancelled() or delivery.exception() is not None:
        stop_unless_delivered(delivery)
        return
    # What a restore may skip: everything up to the batch's last record is in the store.
    store.set_persisted_offset(tp, delivery.result().offset + count - 1)


def stored_items(table: faust.Table, partition: int) -> Iterator[tuple[str, Any]]:
    """What `table` holds in its local store for `partition`. Only RocksDB keeps partitions
    apart; a memory:// store (for experiments) gives nothing: its ids expire only if written
    by this process."""
    store = table.data
    if not isinstance(store, RocksDBStore):
        return iter(())
    db = store._db_for_partition(partition)
    return ((store._decode_key(key), store._decode_value(value)) for key, value in store._visible_items(db))
