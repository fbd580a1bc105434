"""Scale-out without losing a cent: producers that partition any way, a partition count raised
mid-stream, and several workers on more partitions with kills. Each scenario ends with the
same checks as every chaos scenario (test_exactly_once.assert_exactly_once)."""

from __future__ import annotations

import time

import pytest

from meterstream.devstack.kafka_cluster import KafkaCluster
from meterstream.devstack.topics import scale_topics
from tests.chaos.conftest import CHAOS_EVENTS
from tests.chaos.harness import ChaosRun
from tests.chaos.test_exactly_once import STREAM_SECONDS, assert_exactly_once

pytestmark = pytest.mark.chaos


def test_a_fifth_of_the_events_from_a_plain_producer_to_random_partitions_or_unkeyed(chaos: ChaosRun):
    chaos.stream(CHAOS_EVENTS, seconds=STREAM_SECONDS, plain_share=0.2).join()
    assert_exactly_once(chaos)


def test_the_partition_count_raised_from_4_to_8_mid_stream(chaos: ChaosRun):
    def raise_partitions(n: int) -> None:
        if n == CHAOS_EVENTS // 2:
            scale_topics(chaos.settings, 8)
            chaos.faults.append("usage.events, usage.priced and usage.dlq raised to 8 partitions")

    chaos.stream(CHAOS_EVENTS, seconds=STREAM_SECONDS, plain_share=0.2, during=raise_partitions).join()
    assert_exactly_once(chaos)


@pytest.mark.parametrize("chaos", [{"topic_partitions": 12}], indirect=True)
def test_three_workers_on_12_partitions_with_a_worker_and_the_sink_killed(chaos: ChaosRun):
    # One sink: an embedded ClickHouse folder has one owner process (two sinks need a server).
    chaos.add_worker()
    chaos.add_worker()
    stream = chaos.stream(CHAOS_EVENTS, seconds=STREAM_SECONDS, plain_share=0.2)
    time.sleep(STREAM_SECONDS / 2)
    chaos.workers[1].kill()
    chaos.faults.append("kill -9 worker2")
    chaos.sink.kill()
    chaos.faults.append("kill -9 sink")
    stream.join()
    assert_exactly_once(chaos)


def test_kill_9_of_the_broker_leading_most_partitions_restarted_20_s_later(cluster_chaos: ChaosRun,
                                                                          kafka_cluster: KafkaCluster):
    chaos = cluster_chaos
    stream = chaos.stream(CHAOS_EVENTS, seconds=STREAM_SECONDS, plain_share=0.2)
    time.sleep(STREAM_SECONDS / 3)
    leader = kafka_cluster.leader_of_most_partitions(chaos.settings.topic_events)
    kafka_cluster.kill(leader)
    chaos.faults.append(f"kill -9 broker {leader}")
    time.sleep(20)
    kafka_cluster.restart(leader)
    chaos.faults.append(f"broker {leader} restarted")
    stream.join()
    assert_exactly_once(chaos)
