"""The worker writes a batch's table changes itself (stream/table_store.py), so what Faust reads
back must be what Faust would have written: a worker that lost its local store restores the
same state from the changelogs."""

from __future__ import annotations

import shutil
import uuid

import pytest

from meterstream.devstack.pipeline import LocalPipeline
from meterstream.producers import UsageEmitter
from meterstream.schemas import ImageUsage, Service, UsageEvent
from meterstream.settings import Settings
from tests.conftest import eventually

SESSIONS = [f"s-restore-{n}" for n in range(5)]


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings) -> Settings:
    return pipeline_settings.model_copy(update={"budgets_enabled": False})


def events(count: int) -> list[UsageEvent]:
    return [UsageEvent(event_id=uuid.uuid4(), tenant_id="acme", session_id=SESSIONS[n % len(SESSIONS)],
                       service=Service.IMAGE, model="imagen-4.0-generate", usage=ImageUsage(images=1 + n % 3))
            for n in range(count)]


def emit(pipeline: LocalPipeline, batch: list[UsageEvent]) -> None:
    with UsageEmitter(pipeline.settings) as emitter:
        for event in batch:
            emitter.emit(event)
        assert emitter.flush() == 0


def state(pipeline: LocalPipeline) -> tuple[dict, dict]:
    totals = {session: pipeline.worker.session_totals(session) for session in SESSIONS}
    return {session: t.model_dump() if t else None for session, t in totals.items()}, pipeline.worker.ledger()


def test_a_worker_that_lost_its_store_restores_the_same_totals_ids_and_ledger_from_the_changelogs(pipeline):
    sent = events(300)
    emit(pipeline, sent)
    eventually(lambda: pipeline.worker.counts().get("priced", 0) == len(sent), what="300 priced")
    before = state(pipeline)
    assert all(before[0].values())

    pipeline.worker.stop()
    shutil.rmtree(pipeline.settings.data_dir / "worker")  # every table's RocksDB store
    pipeline.worker.start()

    eventually(lambda: state(pipeline) == before, what="the same totals and ledger, restored")
    emit(pipeline, sent[:10])  # the restored ids still catch re-sends
    eventually(lambda: pipeline.worker.counts().get("duplicate", 0) == 10, what="10 duplicates")
    assert pipeline.worker.counts()["priced"] == len(sent)
