"""Realistic usage events in bulk, fast: the studio workload's mix, re-keyed per event.

`studio_workload` builds pydantic models (valid by construction, ~50 µs each); a
benchmark needs millions, so a pool of its events is turned into plain dicts once and
each generated event copies one with a fresh event_id, session and time. All four billing
units appear in the proportions the workload gives them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from meterstream.producers.workload import studio_workload
from meterstream.schemas import UsageEvent

POOL_SIZE = 2_000


def _uuid4_text(rng: random.Random) -> str:
    bits = rng.getrandbits(128)
    bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class EventFactory:
    """Makes usage events for `sessions` sessions of `tenants` tenants, as dicts, bytes or models."""

    def __init__(self, sessions: int, prefix: str, tenants: int = 1, seed: int = 11) -> None:
        # Event ids are drawn per prefix: two factories with one seed and different prefixes
        # (the runs of a latency scenario, on one pipeline) would otherwise send the same ids,
        # which the worker rightly drops as re-sends, and the drops read as events never stored.
        self.rng = random.Random(f"{seed}:{prefix}")
        pool = list(studio_workload(POOL_SIZE, sessions=40, seed=seed))
        self.pool = [event.model_dump(mode="json") for event in pool]
        self.models = pool
        self.session_ids = [f"{prefix}-s{n:07d}" for n in range(sessions)]
        self.tenant_of = [f"{prefix}-t{n % tenants:03d}" for n in range(sessions)]
        self.n = 0

    def next_dict(self, occurred_at: str | None = None) -> dict[str, Any]:
        template = self.pool[self.n % len(self.pool)]
        slot = self.n % len(self.session_ids)
        self.n += 1
        event = dict(template)
        event["event_id"] = _uuid4_text(self.rng)
        event["session_id"] = self.session_ids[slot]
        event["tenant_id"] = self.tenant_of[slot]
        if occurred_at is not None:
            event["occurred_at"] = occurred_at
        return event

    def next_bytes(self) -> tuple[bytes, bytes]:
        """(key, value) as the emitter would put them on the wire."""
        event = self.next_dict()
        return event["session_id"].encode(), orjson.dumps(event)

    def next_model(self, session_id: str | None = None) -> UsageEvent:
        """A UsageEvent stamped now (for latency runs, whose clock is occurred_at)."""
        template = self.models[self.n % len(self.models)]
        slot = self.n % len(self.session_ids)
        self.n += 1
        return template.model_copy(update={
            "event_id": _uuid_obj(self.rng), "occurred_at": datetime.now(UTC),
            "session_id": session_id or self.session_ids[slot], "tenant_id": self.tenant_of[slot],
        })

    def byte_stream(self, count: int) -> Iterator[tuple[bytes, bytes]]:
        for _ in range(count):
            yield self.next_bytes()


def _uuid_obj(rng: random.Random):
    import uuid

    return uuid.UUID(_uuid4_text(rng))
