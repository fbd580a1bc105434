"""The request observer (meterstream/api/observer.py): one wrap of `send` per request feeds the
access log and the request metrics. Through the real app where no infrastructure is needed
(the dashboard fallback, the guard's 401), and around a bare ASGI app for the edges."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from meterstream.api import ApiSettings, create_app
from meterstream.api import app as app_module
from meterstream.api.metrics import ApiMetrics
from meterstream.api.observer import RequestObserver
from meterstream.settings import Settings

ACCESS = "meterstream.api.access"


def requests(metrics: ApiMetrics, method: str, route: str, status: str) -> float | None:
    return metrics.registry.get_sample_value("meterstream_api_requests_total",
                                             {"method": method, "route": route, "status": status})


def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **api) -> tuple[TestClient, ApiMetrics]:
    made: list[ApiMetrics] = []
    monkeypatch.setattr(app_module, "ApiMetrics", lambda: made.append(ApiMetrics()) or made[-1])
    client = TestClient(create_app(Settings(), ApiSettings(dashboard_dir=tmp_path, **api)))
    return client, made[0]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == ACCESS]


def test_an_answer_is_one_access_line_and_one_count_by_route(tmp_path, monkeypatch, caplog) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    client, metrics = served(tmp_path, monkeypatch)
    assert client.get("/?x=1").status_code == 503  # no dashboard built
    [line] = access_lines(caplog)
    assert line.startswith("GET / 503 ") and line.endswith(" ms tenant=-")
    assert requests(metrics, "GET", "/", "503") == 1
    assert metrics.registry.get_sample_value("meterstream_api_request_seconds_count", {"route": "/"}) == 1


def test_the_guards_answer_is_logged_but_not_counted(tmp_path, monkeypatch, caplog) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    client, metrics = served(tmp_path, monkeypatch)
    assert client.post("/v1/usage", json={}).status_code == 401
    assert [line.split()[:3] for line in access_lines(caplog)] == [["POST", "/v1/usage", "401"]]
    assert requests(metrics, "POST", "(unmatched)", "401") is None
    assert requests(metrics, "POST", "/v1/usage", "401") is None


def test_without_the_access_log_requests_are_still_counted(tmp_path, monkeypatch, caplog) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    client, metrics = served(tmp_path, monkeypatch, access_log=False)
    client.get("/")
    assert access_lines(caplog) == []
    assert requests(metrics, "GET", "/", "503") == 1


def call(app, path: str = "/boom") -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    asyncio.run(app(scope, receive, send))
    return sent


def test_send_is_wrapped_once_and_an_app_that_raises_before_answering_is_logged_as_500(caplog) -> None:
    caplog.set_level(logging.INFO, logger=ACCESS)
    metrics = ApiMetrics()
    seen = []

    async def inner(scope, receive, send) -> None:
        seen.append(send)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def boom(scope, receive, send) -> None:
        raise RuntimeError("boom")

    assert [m["type"] for m in call(RequestObserver(metrics.middleware(inner), metrics))] == [
        "http.response.start", "http.response.body"]
    [wrapper] = seen  # the server's send behind exactly one function: the observer's
    assert wrapper.__qualname__ == "RequestObserver.__call__.<locals>.sending"
    assert not any(callable(c.cell_contents) and getattr(c.cell_contents, "__qualname__", "").endswith("sending")
                   for c in wrapper.__closure__ or ())
    assert requests(metrics, "GET", "(unmatched)", "204") == 1
    with pytest.raises(RuntimeError):
        call(RequestObserver(metrics.middleware(boom), metrics))
    assert [line.split()[:3] for line in access_lines(caplog)] == [["GET", "/boom", "204"], ["GET", "/boom", "500"]]
    assert requests(metrics, "GET", "(unmatched)", "500") is None
