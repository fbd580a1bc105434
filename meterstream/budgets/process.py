"""The budget owner as a child of `meterstream worker`: started with it, dies with it.

One command still runs the whole worker, and a kill -9 of it (the chaos suite's fault)
takes the budget owner down too, as when both lived in one process. If the budget owner
exits on its own (it stops for a replay like the worker does), the worker stops as well,
so whatever restarts the worker restarts both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable

from meterstream.devstack.kafka_broker import free_port
from meterstream.processes import dies_with_this_process, terminate
from meterstream.settings import Settings, settings_env


def owner_url(settings: Settings, port: int) -> str:
    """Where a budget owner on `port` answers (it binds to the worker's host)."""
    return f"http://{settings.worker_host}:{port}"


class BudgetOwnerProcess:
    def __init__(self, settings: Settings, on_exit: Callable[[str, int], None]) -> None:
        self.settings = settings
        self.port = settings.budget_owner_port or free_port()
        self.on_exit = on_exit
        self.process: subprocess.Popen | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return owner_url(self.settings, self.port)

    def start(self) -> BudgetOwnerProcess:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "meterstream", "budget-owner", "--port", str(self.port)],
            env={**os.environ, **settings_env(self.settings)}, stdin=subprocess.DEVNULL,
            preexec_fn=dies_with_this_process(),  # noqa: PLW1509 - no other thread runs yet
        )
        threading.Thread(target=self._watch, name="budget-owner-watch", daemon=True).start()
        return self

    def _watch(self) -> None:
        code = self.process.wait()
        if not self._stopping:
            self.on_exit(f"the budget owner exited with code {code}", code)

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping = True
        terminate(self.process, timeout)
