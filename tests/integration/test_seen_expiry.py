"""Bounded de-duplication state on the real broker: a worker with a de-duplication window of
a few seconds forgets ids past it, in its store and in the changelog, and catches re-sends
inside it."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest

from meterstream.devstack.pipeline import LocalPipeline
from meterstream.devstack.worker_store import stored_keys
from meterstream.producers import UsageEmitter
from meterstream.reconcile import read_topic
from meterstream.schemas import ImageUsage, Service, UsageEvent
from meterstream.settings import Settings
from meterstream.stream.topics import changelog_topic
from tests.conftest import eventually

WINDOW_S = 4.0


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings) -> Settings:
    return pipeline_settings.model_copy(update={"dedup_window_days": WINDOW_S / 86_400, "budgets_enabled": False})


def image_event(event_id: uuid.UUID | None = None) -> UsageEvent:
    # One session: every event has the same home partition, where expiry runs with each batch.
    return UsageEvent(event_id=event_id or uuid.uuid4(), tenant_id="acme", session_id="s-expiry",
                      service=Service.IMAGE, model="imagen-4.0-generate", usage=ImageUsage(images=1))


def meter(pipeline: LocalPipeline, event: UsageEvent, outcome: str, count: int) -> None:
    with UsageEmitter(pipeline.settings) as emitter:
        emitter.emit(event)
        assert emitter.flush() == 0
    eventually(lambda: pipeline.worker.counts().get(outcome, 0) >= count, what=f"{count} {outcome}")


def changelog(settings: Settings) -> dict[str, list[bytes | None]]:
    """Every value the seen-events changelog holds, per event id (JSON, as the store), in order (None: a tombstone)."""
    values: dict[str, list[bytes | None]] = {}
    for message in read_topic(settings, changelog_topic(settings, "seen-events"), f"reader-{uuid.uuid4().hex}"):
        values.setdefault(orjson.loads(message.key()), []).append(message.value())
    return values


def tombstoned(settings: Settings, event: UsageEvent) -> dict[str, list[bytes | None]] | None:
    """The changelog, once the last record of `event`'s id is a tombstone (its value may be
    gone already: retention deletes segments older than the window)."""
    found = changelog(settings)
    return found if found.get(str(event.event_id), [b""])[-1] is None else None


def test_an_id_past_the_window_leaves_the_store_and_gets_a_tombstone_in_the_changelog(pipeline: LocalPipeline):
    old, fresh = image_event(), image_event()
    meter(pipeline, old, "priced", 1)
    time.sleep(WINDOW_S * 1.2)
    meter(pipeline, fresh, "priced", 2)  # a batch on the same partition: its expiry finds the old id

    values = eventually(lambda: tombstoned(pipeline.settings, old), what="a tombstone for the expired id")
    assert values[str(fresh.event_id)][-1] is not None
    pipeline.worker.stop()
    ids = stored_keys(pipeline.data_dir, "seen-events")
    assert str(fresh.event_id) in ids
    assert str(old.event_id) not in ids


def test_a_resend_is_a_duplicate_inside_the_window_and_new_beyond_it(pipeline: LocalPipeline):
    event = image_event()
    meter(pipeline, event, "priced", 1)
    first_seen = time.monotonic()
    time.sleep(WINDOW_S * 0.25)
    meter(pipeline, image_event(), "priced", 2)  # expiry runs on the partition, and keeps the id
    meter(pipeline, event, "duplicate", 1)
    time.sleep(max(0.0, first_seen + WINDOW_S * 1.2 - time.monotonic()))
    meter(pipeline, event, "priced", 3)  # forgotten: counted again, as documented
    assert pipeline.worker.counts() == {"priced": 3, "duplicate": 1}


def test_an_id_stored_before_a_restart_is_expired_after_it(pipeline: LocalPipeline):
    old = image_event()
    meter(pipeline, old, "priced", 1)
    pipeline.worker.stop()
    pipeline.worker.start()  # its index of ids is gone: it reads the stored ids again
    time.sleep(WINDOW_S * 1.2)
    meter(pipeline, image_event(), "priced", 2)
    eventually(lambda: tombstoned(pipeline.settings, old), what="a tombstone for the id stored before the restart")
