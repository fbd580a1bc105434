"""Failpoints: make a component crash or fail at a named point, for chaos tests.

Set METERSTREAM_FAILPOINTS to a comma-separated list of `name=action`, where action is

- `crash`        the process dies at once (os._exit(137), like kill -9: no cleanup);
- `crash@N`      it dies the N-th time the point is reached;
- `error`        the point raises FailpointError (each time);
- `error*N`      it raises the first N times, then passes (a transient outage).

Points in the code: worker.before_process (each message), worker.after_state (a batch's
state written to the tables, its priced records not yet sent), worker.after_send (sent,
not yet acked); budgets.after_apply (a budget command applied in the budget owner's
memory, nothing sent), budgets.after_send (a batch's changelog writes, alerts and replies
sent, not yet acknowledged), budgets.after_commit; sink.before_insert, sink.insert (raises a
retryable error), sink.after_insert (rows stored, offsets not committed),
sink.after_commit. Unset, a failpoint costs one dictionary lookup on an empty dict.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass

from meterstream.errors import MeterstreamError

log = logging.getLogger(__name__)

ENV = "METERSTREAM_FAILPOINTS"


class FailpointError(MeterstreamError):
    """Raised by a failpoint set to `error`."""


@dataclass(frozen=True)
class Action:
    kind: str  # "crash" | "error"
    count: int | None = None  # crash@N: on the N-th hit; error*N: the first N hits


def parse(spec: str) -> dict[str, Action]:
    actions = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition("=")
        if action.startswith("crash"):
            _, _, n = action.partition("@")
            actions[name] = Action("crash", int(n) if n else None)
        elif action.startswith("error"):
            _, _, n = action.partition("*")
            actions[name] = Action("error", int(n) if n else None)
        else:
            raise ValueError(f"{ENV}: unknown action '{action}' for failpoint '{name}' (crash, crash@N, error, error*N)")
    return actions


_actions = parse(os.environ.get(ENV, ""))
_hits: Counter[str] = Counter()


def failpoint(name: str) -> None:
    action = _actions.get(name)
    if action is None:
        return
    _hits[name] += 1
    hit = _hits[name]
    if action.kind == "crash" and (action.count is None or hit == action.count):
        log.critical("failpoint %s: crashing (hit %d)", name, hit)
        logging.shutdown()
        os._exit(137)
    if action.kind == "error" and (action.count is None or hit <= action.count):
        raise FailpointError(f"failpoint {name} (hit {hit})")


def configure(spec: str) -> None:
    """Replace the active failpoints (tests); the environment sets them at import."""
    global _actions
    _actions = parse(spec)
    _hits.clear()
