"""Settings of the HTTP API and dashboard; environment variables prefixed METERSTREAM_API_.

Kept apart from the core `Settings` (Kafka, worker, ClickHouse), which the API reads too.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from meterstream.settings import Settings

# The dashboard's build output in a source checkout (web/ → `npm run build`).
DEFAULT_DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METERSTREAM_API_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # Keys and sessions: a SQLite file. Empty means `<data_dir>/api.sqlite3`.
    state_path: Path | None = None
    # How often the live hub asks the worker for a watched session's totals (seconds).
    live_poll_seconds: float = Field(default=0.1, gt=0, le=5)
    # How long a usage request waits for Kafka to acknowledge its events (seconds).
    publish_timeout_seconds: float = Field(default=15.0, gt=0)
    dashboard_dir: Path = DEFAULT_DASHBOARD_DIR
    # Origins whose pages may call the API (an app embedding the tracker), e.g. ["https://studio.example.com"].
    cors_origins: list[str] = Field(default_factory=list)

    def state_file(self, settings: Settings) -> Path:
        return self.state_path or settings.data_dir / "api.sqlite3"
