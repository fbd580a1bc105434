"""Closing months by themselves: a thread beside the API (`serve`) that runs close-due.

Every `interval` seconds it closes the units whose grace period has passed (book.close_due).
Several API processes may run it at once: the close leases make each unit close once. Off
with `METERSTREAM_API_STATEMENTS_AUTO_CLOSE=false`; then run `meterstream statements
close-due` from a scheduler instead (e.g. with a ClickHouse server and no `serve`).
"""

from __future__ import annotations

import logging
import threading

from meterstream.statements.book import StatementBook

log = logging.getLogger(__name__)


class StatementCloser:
    def __init__(self, book: StatementBook, interval: float = 60.0) -> None:
        self.book = book
        self.interval = interval
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="statements-closer", daemon=True)

    def start(self) -> StatementCloser:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                closed = self.book.close_due()
                if closed:
                    log.info("statements: closed %d month(s) past their grace period", len(closed))
            except Exception:  # noqa: BLE001 - ClickHouse or the state file briefly unavailable: next run
                log.exception("statements: close-due failed; trying again in %.0f s", self.interval)
            self.runs += 1
            self._stop.wait(self.interval)
