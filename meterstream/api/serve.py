"""`meterstream serve`: the API, and beside it in the same process the ClickHouse sink.

Boot order: topics, sink, API; stopped in reverse. With an embedded ClickHouse
(chdb://) only one process may open the folder, so the sink that writes it and the API
that reads it must share this process. With a ClickHouse server (http://) the sink can
run on its own (`meterstream sink`) and the API here with `--no-sink`.

The alert channel (usage.alerts → feed → webhooks, meterstream/alerts) starts with the app
(Services), so `serve` and the in-process `ApiServer` both run it unless
METERSTREAM_API_ALERTS_ENABLED=false; several API processes may run it on one state file.

Several `serve --no-sink` hosts (with a ClickHouse server) can stand behind a load balancer:
keys, sessions and webhooks are on Kafka topics every host reads (meterstream/state), so they
share nothing else.
"""

from __future__ import annotations

import logging
import threading
import time

import uvicorn

from meterstream.api.app import create_app
from meterstream.api.services import Services
from meterstream.api.settings import ApiSettings
from meterstream.devstack import ensure_topics
from meterstream.devstack.pipeline import SinkThread
from meterstream.errors import InfrastructureUnavailable
from meterstream.runtime import freeze_startup_objects
from meterstream.settings import Settings

log = logging.getLogger(__name__)


def _server(settings: Settings, api_settings: ApiSettings, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(create_app(settings, api_settings), host=host, port=port, log_level="warning",
                            lifespan="on", timeout_graceful_shutdown=3)
    return uvicorn.Server(config)


def serve(settings: Settings, api_settings: ApiSettings, with_sink: bool = True) -> None:
    """Run until SIGTERM / Ctrl-C."""
    if not with_sink and settings.clickhouse_url.startswith("chdb://"):
        log.warning("no sink in this process: nothing will store priced usage into the embedded ClickHouse "
                    "at %s (only this process can open it)", settings.clickhouse_url)
    if api_settings.access_log:  # the root logger shows warnings only; these lines are the serve's own
        logging.getLogger("meterstream.api.access").setLevel(logging.INFO)
    ensure_topics(settings)
    sink = SinkThread(settings) if with_sink else None
    if sink is not None:
        sink.start()
    server = _server(settings, api_settings, api_settings.host, api_settings.port)
    freeze_startup_objects()
    try:
        server.run()
    finally:
        if sink is not None:
            sink.stop()


class ApiServer:
    """The API on a background thread of this process (tests, benchmarks)."""

    def __init__(self, settings: Settings, api_settings: ApiSettings) -> None:
        self.server = _server(settings, api_settings, api_settings.host, api_settings.port)
        self.url = f"http://{api_settings.host}:{api_settings.port}"
        self._thread = threading.Thread(target=self.server.run, name="api-server", daemon=True)

    def start(self, timeout: float = 30.0) -> ApiServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise InfrastructureUnavailable(f"the API did not start on {self.url}")
            time.sleep(0.05)
        return self

    @property
    def services(self) -> Services:
        """What the running app uses (its key store, for instance), once started."""
        return self.server.config.app.state.services

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(15)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
