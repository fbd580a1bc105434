import subprocess
import sys

import pytest

from meterstream import failpoints
from meterstream.failpoints import Action, FailpointError, failpoint


@pytest.fixture(autouse=True)
def no_failpoints_after():
    yield
    failpoints.configure("")


def test_the_spec_names_points_and_actions():
    assert failpoints.parse("a=crash, b=crash@3,c=error*2,d=error") == {
        "a": Action("crash"), "b": Action("crash", 3), "c": Action("error", 2), "d": Action("error"),
    }


def test_an_unknown_action_is_refused_with_the_point_named():
    with pytest.raises(ValueError, match="'explode' for failpoint 'x'"):
        failpoints.parse("x=explode")


def test_an_unset_failpoint_does_nothing():
    failpoint("sink.insert")


def test_error_n_fails_the_first_n_hits_then_passes():
    failpoints.configure("sink.insert=error*2")
    for _ in range(2):
        with pytest.raises(FailpointError, match="sink.insert"):
            failpoint("sink.insert")
    failpoint("sink.insert")


def test_crash_at_n_kills_the_process_on_the_nth_hit():
    code = "from meterstream.failpoints import failpoint\nfor i in range(5):\n    print(i, flush=True)\n    failpoint('p')"
    result = subprocess.run([sys.executable, "-c", code], env={"METERSTREAM_FAILPOINTS": "p=crash@3", "PATH": ""},
                            capture_output=True, text=True)
    assert result.returncode == 137
    assert result.stdout.split() == ["0", "1", "2"]
