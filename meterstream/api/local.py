"""Asking the running `meterstream serve` from the CLI on the same machine.

With the embedded ClickHouse, `serve` owns its folder: `meterstream report` and `reconcile` cannot
open it beside it (the engine locks the folder). So `serve` leaves a note in the data dir,
`serve.json` (its URL, its pid and a random token, readable by the owner only), and answers
`POST /local/report` and `POST /local/reconcile` to requests carrying that token. Whoever can read
the note can read the data dir, and the ClickHouse folder in it, anyway: the token grants nothing
more. The CLI finds the note, asks, and prints what it would have printed itself.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from meterstream.settings import Settings

NOTE = "serve.json"


def note_path(settings: Settings) -> Path:
    return settings.data_dir / NOTE


@dataclass(frozen=True)
class LocalNote:
    url: str
    pid: int
    token: str
    clickhouse: str

    @classmethod
    def publish(cls, settings: Settings, url: str) -> LocalNote:
        note = cls(url=url, pid=os.getpid(), token=secrets.token_urlsafe(32), clickhouse=settings.clickhouse_url)
        path = note_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
            json.dump(note.__dict__, out)
        temporary.replace(path)
        return note

    def withdraw(self, settings: Settings) -> None:
        """Remove the note if it is still this process's (another serve may have replaced it)."""
        found = read_note(settings)
        if found is not None and found.pid == self.pid and found.token == self.token:
            note_path(settings).unlink(missing_ok=True)


def read_note(settings: Settings) -> LocalNote | None:
    try:
        return LocalNote(**json.loads(note_path(settings).read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def ask_serve(settings: Settings, path: str, payload: dict[str, Any], timeout: float = 300.0) -> dict[str, Any] | None:
    """The running serve's answer, or None when no serve on this machine answers for this ClickHouse."""
    note = read_note(settings)
    if note is None or note.clickhouse != settings.clickhouse_url:
        return None
    try:
        response = httpx.post(f"{note.url}{path}", json=payload, timeout=timeout,
                              headers={"Authorization": f"Bearer {note.token}"})
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return response.json()
