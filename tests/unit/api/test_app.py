"""The app's edges that need no infrastructure: CORS for embedding apps, the dashboard fallback."""

from pathlib import Path

from fastapi.testclient import TestClient

from meterstream.api import ApiSettings, create_app
from meterstream.settings import Settings


def test_an_allowed_origin_may_call_the_api_from_the_browser(tmp_path: Path) -> None:
    app = create_app(Settings(), ApiSettings(cors_origins=["https://studio.example.com"], dashboard_dir=tmp_path))
    preflight = TestClient(app).options("/v1/usage", headers={
        "Origin": "https://studio.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.headers["access-control-allow-origin"] == "https://studio.example.com"


def test_without_a_build_the_root_page_says_how_to_build_the_dashboard(tmp_path: Path) -> None:
    page = TestClient(create_app(Settings(), ApiSettings(dashboard_dir=tmp_path))).get("/")
    assert page.status_code == 503 and "npm --prefix web" in page.text
