"""The HTTP API (FastAPI) and the dashboard it serves."""

from meterstream.api.app import create_app
from meterstream.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
