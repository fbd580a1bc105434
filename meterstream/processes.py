"""Child processes: stopping one, and tying one's life to its parent's."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import NoReturn

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def terminate(process: subprocess.Popen | None, timeout: float) -> None:
    """Stop a child cleanly (SIGTERM), forcefully (SIGKILL) if it does not stop in time."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def dies_with_this_process() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGKILL when this process dies, however it
    dies (kill -9 included), so a killed worker never leaves half of itself running.
    Linux only (prctl); elsewhere None. Call it from the thread that will outlive the
    child: the signal comes when the creating thread ends."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def preexec() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os._exit(1)

    return preexec


def stop_for_replay(why: str, exit_code: int = 70, exc_info: bool = False) -> NoReturn:
    """Stop the worker at once, acking nothing more: the restarted worker resumes from the
    last committed offset, so everything not yet committed is metered again."""
    log.critical("%s; stopping so that a restart replays it", why, exc_info=exc_info)
    logging.shutdown()
    os._exit(exit_code)
