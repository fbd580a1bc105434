"""Settings of the HTTP API and dashboard; environment variables prefixed METERSTREAM_API_.

Kept apart from the core `Settings` (Kafka, worker, ClickHouse), which the API reads too.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from meterstream.alerts.delivery import DeliveryOptions
from meterstream.alerts.retry import RetryPolicy
from meterstream.settings import Settings

# The dashboard's build output in a source checkout (web/ → `npm run build`).
DEFAULT_DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METERSTREAM_API_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # This host's own state, a SQLite file: the alert feed, its mirror of the shared webhooks
    # and its delivery outbox (keys, sessions and webhooks are shared on Kafka topics).
    # Empty means `<data_dir>/api.sqlite3`.
    state_path: Path | None = None
    # How often the live hub asks the worker for a watched session's totals (seconds).
    live_poll_seconds: float = Field(default=0.1, gt=0, le=5)
    # How long a usage request waits for Kafka to acknowledge its events (seconds).
    publish_timeout_seconds: float = Field(default=15.0, gt=0)
    dashboard_dir: Path = DEFAULT_DASHBOARD_DIR
    # The largest request body accepted (bytes): one event or any other body, and the batch
    # endpoint's up to 1,000 events. Larger answers 413 before the body is read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # The secret that signs portal tokens (tokens.py), the same on every API host. Empty: a
    # random one kept on the keys topic, which every host shares (store.PortalSecrets).
    token_secret: SecretStr | None = None
    # The longest life a portal token may be given (seconds), and the default.
    token_max_ttl_seconds: int = Field(default=86_400, ge=1)
    token_default_ttl_seconds: int = Field(default=900, ge=1)
    # One INFO line per request (method, path, status, time, tenant) on meterstream.api.access.
    access_log: bool = True
    # Origins whose pages may call the API (an app embedding the tracker), e.g. ["https://studio.example.com"].
    cors_origins: list[str] = Field(default_factory=list)

    # The alert channel (meterstream/alerts): this process reads the alerts topic into the
    # state file and delivers webhooks. Several API processes may do so at once.
    alerts_enabled: bool = True
    # One webhook try may take this long in total (seconds).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # 5xx, timeouts and connection errors are retried for this long after the alert arrived.
    webhook_max_age_seconds: float = Field(default=86_400.0, ge=0)
    # Waits between tries: full jitter under base * 2**(tries-1), never above the cap.
    webhook_backoff_base_seconds: float = Field(default=1.0, gt=0)
    webhook_backoff_cap_seconds: float = Field(default=600.0, gt=0)
    # Tries in flight at once, and how often to look for due deliveries (seconds).
    webhook_concurrency: int = Field(default=32, ge=1, le=1000)
    webhook_poll_seconds: float = Field(default=0.5, gt=0, le=10)

    # Statements: this process closes months whose grace period has passed, checking this often.
    statements_auto_close: bool = True
    statements_close_interval_seconds: float = Field(default=60.0, gt=0, le=86_400)

    def state_file(self, settings: Settings) -> Path:
        return self.state_path or settings.data_dir / "api.sqlite3"

    def delivery_options(self) -> DeliveryOptions:
        policy = RetryPolicy(base=self.webhook_backoff_base_seconds,
                             cap=max(self.webhook_backoff_cap_seconds, self.webhook_backoff_base_seconds),
                             max_age=self.webhook_max_age_seconds)
        return DeliveryOptions(timeout=self.webhook_timeout_seconds, concurrency=self.webhook_concurrency,
                               poll_seconds=self.webhook_poll_seconds, policy=policy)
