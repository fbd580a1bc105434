"""Random bytes and near-valid JSON through the real worker: it keeps running and accounts
for every message, as metered or dead-lettered."""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterstream.devstack.pipeline import LocalPipeline
from meterstream.producers import UsageEmitter
from tests.fuzz_payloads import payloads


def test_the_worker_accounts_for_every_fuzzed_message(pipeline: LocalPipeline):
    sent = 0

    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(batch=st.lists(payloads, min_size=100, max_size=100))
    def send_batch(batch):
        nonlocal sent
        with UsageEmitter(pipeline.settings) as emitter:
            for payload in batch:
                emitter.send_raw(b"fuzz", payload)
        sent += len(batch)
        deadline = time.monotonic() + 60
        while sum(pipeline.worker.counts().values()) < sent and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pipeline.worker.process.poll() is None, "the worker stopped"
        assert sum(pipeline.worker.counts().values()) == sent

    send_batch()
    counts = pipeline.worker.counts()
    assert set(counts) <= {"priced", "unpriced", "duplicate", "conflict", "dead_letter"}
    assert counts["dead_letter"] > 0
