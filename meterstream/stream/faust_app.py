"""The metering worker's Faust settings, its stop rules, and how a view answers for a key
that another worker owns (the worker: stream/app.py; bench/ measures Faust's own floor
with the same settings).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import faust
from faust.streams import _current_event
from faust.web import Request, Response, View
from yarl import URL

from meterstream.processes import stop_for_replay
from meterstream.settings import Settings
from meterstream.stream.topics import SPEND_COMMAND_MAX_BYTES


def app_config(settings: Settings, datadir: Path | None = None, web_port: int | None = None) -> dict[str, object]:
    """The worker's Faust settings (also used by bench/ to measure Faust's own floor)."""
    return dict(
        broker=f"kafka://{settings.kafka_bootstrap}",
        store=settings.store,
        datadir=str(datadir or settings.data_dir / "worker"),
        web_host=settings.worker_host,
        web_port=settings.worker_port if web_port is None else web_port,
        web_in_thread=False,
        topic_partitions=settings.topic_partitions,
        # Topics Faust would create itself get the cluster's replication (ensure_topics makes them first).
        topic_replication_factor=settings.topic_replication_factor,
        producer_acks=-1,
        broker_commit_interval=1.0,
        stream_wait_empty=True,
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.consumer_session_timeout,
        broker_heartbeat_interval=settings.consumer_session_timeout / 4,
        # aiokafka appends to one batch per partition and makes the sender wait for that
        # batch to drain once it is full: at the default 16 KB (about 13 priced records)
        # the agent stalled on a broker round trip every few events (bench/, scenario 1).
        # Every event sends four messages (three changelogs and the priced record); a 50 ms
        # linger packs them into fewer produce requests (Faust floor with tables: ~1.5x).
        # The live totals do not wait for it; ClickHouse sees records up to 50 ms later.
        producer_max_batch_size=512 * 1024,
        # A spend command (up to MAX_SPEND_ITEMS events of a tenant) may pass 1 MB before lz4
        # compression, which aiokafka checks against this; the broker sees it compressed.
        producer_max_request_size=SPEND_COMMAND_MAX_BYTES,
        producer_linger=0.05,
        producer_compression_type="lz4",
        # Messages an agent may have fetched but not processed. Routed messages carry up to
        # 400 events (512 KiB) and spend commands up to 1,000 items: at 16,384 a catch-up filled
        # a worker to 3.2 GB. 256 still buffers about 100,000 events.
        stream_buffer_maxsize=256,
        # Each table's store remembers which partition holds a key for this many keys; a key
        # it has forgotten is deleted from every partition's store (faust's RocksDB `_del`).
        # Room for every key a batch reads, writes and expires (Faust's default is 1,000), so
        # the expiry of a seen id touches only the partition that holds it.
        table_key_index_size=2 * (settings.worker_batch_size + settings.dedup_expire_per_batch),
    )


def messages_per_batch(settings: Settings, items_per_message: int) -> int:
    """How many messages of up to `items_per_message` items make a batch of about
    `settings.worker_batch_size` items. A batch is processed in one go, so this bounds how long
    the event loop (heartbeats, HTTP views) waits on it: a batch of 1,000 full routed messages
    (400,000 events) once held it for seconds."""
    return max(1, -(-settings.worker_batch_size // items_per_message))


def make_current(event: faust.types.EventT) -> None:
    """Make `event` the stream's current event: Faust files table writes under its partition."""
    _current_event.set(weakref.ref(event))


def stop_unless_delivered(delivery: asyncio.Future) -> None:
    """A record the producer gave up on must not be committed past. This runs before the
    offset commit that waits on the same flush."""
    if delivery.cancelled() or delivery.exception() is not None:
        stop_for_replay(f"a metered record was not delivered "
                        f"({'cancelled' if delivery.cancelled() else delivery.exception()!r})")


PEER_TIMEOUT = aiohttp.ClientTimeout(total=5)  # as a budget owner waits for another (budgets/web.py)


class Owners:
    """Any worker answers for any session or tenant: a request for a key goes on to the
    worker that owns the key's partition (its address is in the consumer group's metadata).

    The partition is murmur2 of the key's plain bytes, where the router and the budget
    commands put it; Faust's own table routing would hash the key's JSON form instead."""

    def __init__(self, app: faust.App, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.headers = headers  # what a forwarded request carries (the worker token, web_access.py)

    async def forwarded(self, view: View, request: Request, table: faust.Table, key: str) -> Response | None:
        """The owner's answer, or None: this worker owns the key, or no assignment is known
        yet (it answers from what it holds)."""
        try:
            owner = self.app.assignor.key_store(table.changelog_topic.get_topic_name(), key.encode())
        except KeyError:
            return None
        here = self.app.conf.canonical_url
        if (owner.host, owner.port) == (here.host, here.port):
            return None
        return await proxy(self.app, view, str(request.url.with_host(owner.host).with_port(owner.port)),
                           self.headers)

    def peers(self) -> list[str]:
        """The URLs of the group's other workers that meter partitions, from the same
        assignment metadata `forwarded` reads (empty before the first assignment)."""
        here = self.app.conf.canonical_url
        urls = {URL(url) for url in self.app.assignor.tables_metadata()}
        return sorted(str(url) for url in urls if (url.host, url.port) != (here.host, here.port))

    async def from_peers(self, path: str) -> list[Any]:
        """`path` as each of the other workers answers it (JSON), for a view that sums over the
        group; raises aiohttp.ClientError or OSError (TimeoutError among them) when one does
        not answer with 200."""

        async def ask(url: str) -> Any:
            async with self.app.http_client.get(f"{url.rstrip('/')}{path}", headers=self.headers,
                                                timeout=PEER_TIMEOUT, raise_for_status=True) as answer:
                return await answer.json()

        return list(await asyncio.gather(*(ask(url) for url in self.peers())))

    async def answer(self, view: View, request: Request, table: faust.Table, key: str,
                     read: Callable[[], bytes | None], missing: str) -> Response:
        """The owner's answer for `key`: forwarded there, or read here (404 with `missing`)."""
        forwarded = await self.forwarded(view, request, table, key)
        if forwarded is not None:
            return forwarded
        body = read()
        if body is None:
            return view.json({"detail": missing}, status=404)
        return view.bytes(body, content_type="application/json")


async def proxy(app: faust.App, view: View, url: str, headers: dict[str, str] | None = None) -> Response:
    """GET `url` (with `headers`: the worker token) and answer with what it said; 503 while
    nothing listens there yet (a budget owner that is still starting)."""
    try:
        async with app.http_client.get(url, headers=headers) as answer:
            return view.bytes(await answer.read(), status=answer.status,
                              content_type=answer.content_type or "application/json")
    except (aiohttp.ClientConnectionError, OSError) as error:
        return view.json({"detail": f"{url} did not answer (starting?): {error}"}, status=503)
