"""A local on-disk spool for events the broker has not taken yet.

Append-only files of length-prefixed (key, value) records. The emitter writes here when
its in-memory queue is full, when a delivery fails, and at shutdown for whatever is still
undelivered; it replays the files when the broker is back. A record may be replayed more
than once (a crash during replay): the event_id makes that harmless.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

_HEADER = struct.Struct(">II")


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._file = None
        self._current: Path | None = None
        self.written = 0

    def append(self, key: bytes | None, value: bytes) -> None:
        key = key or b""
        with self._lock:
            if self._file is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._current = self.directory / f"spool-{time.time_ns()}-{os.getpid()}.bin"
                self._file = open(self._current, "ab")
            self._file.write(_HEADER.pack(len(key), len(value)) + key + value)
            self.written += 1

    def seal(self) -> None:
        """Close the file being written, durably; the next append starts a new one."""
        with self._lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None
                self._current = None

    def sealed_files(self) -> list[Path]:
        """Files complete and ready to replay, oldest first."""
        if not self.directory.exists():
            return []
        with self._lock:
            current = self._current
        return sorted(p for p in self.directory.glob("spool-*.bin") if p != current)

    def pending(self) -> bool:
        return bool(self.sealed_files()) or self._file is not None


def read_records(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """The (key, value) records of one spool file; a torn last record (a crash) is skipped."""
    data = path.read_bytes()
    position = 0
    while position + _HEADER.size <= len(data):
        key_length, value_length = _HEADER.unpack_from(data, position)
        end = position + _HEADER.size + key_length + value_length
        if end > len(data):
            return
        start = position + _HEADER.size
        yield data[start:start + key_length], data[start + key_length:end]
        position = end
