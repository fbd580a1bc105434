"""Which garbage collector the devstack broker asks its JVM for."""

import shutil

import pytest

from meterstream.devstack.kafka_broker import low_pause_gc


def test_a_jvm_that_refuses_shenandoah_gets_g1_with_a_pause_goal(tmp_path):
    refusing = tmp_path / "java"
    refusing.write_text("#!/bin/sh\necho 'Unrecognized VM option UseShenandoahGC' >&2\nexit 1\n")
    refusing.chmod(0o755)
    assert low_pause_gc(str(refusing)) == ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20")


@pytest.mark.skipif(shutil.which("java") is None, reason="no java on PATH")
def test_the_installed_jvm_is_asked_for_a_collector_it_accepts():
    flags = low_pause_gc(shutil.which("java"))
    assert flags in (("-XX:+UseShenandoahGC",), ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"))
