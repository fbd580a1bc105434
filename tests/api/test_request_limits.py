"""Request bodies: the key is checked before the body is read, and a body over its limit answers 413."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import ApiStack

pytestmark = pytest.mark.integration

IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 1}}
FIFTY_MB = 50 * 1024 * 1024


def _raw_request(api_stack: ApiStack, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict]:
    """Send the request line and headers (and `body`, perhaps far less than Content-Length says),
    then read the answer: it must come without the server waiting for the rest of the body."""
    url = urlsplit(api_stack.url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as conn:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": url.netloc, "Content-Type": "application/json",
                                                     **headers}.items())
        conn.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length(answer):
            chunk = conn.recv(65536)  # socket.timeout here means the server waited for the body
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, json.loads(answer.partition(b"\r\n\r\n")[2])


def _length(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def test_a_huge_body_without_a_valid_key_is_refused_before_it_is_read(api_stack: ApiStack) -> None:
    for headers in ({}, {"Authorization": "Bearer msk_000000000000_not-a-real-secret"}):
        status, body = _raw_request(api_stack, "/v1/usage", {**headers, "Content-Length": str(FIFTY_MB)})
        assert status == 401, headers
        assert "key" in body["detail"]


def test_a_declared_body_over_the_limit_answers_413_before_it_is_read(api_stack: ApiStack) -> None:
    _, key = api_stack.new_tenant()
    status, body = _raw_request(api_stack, "/v1/usage",
                                {"Authorization": f"Bearer {key}", "Content-Length": str(FIFTY_MB)})
    assert status == 413
    assert body["detail"].startswith("request body too large: /v1/usage accepts at most 1 MiB")


def test_a_chunked_body_is_cut_off_at_the_limit(api_stack: ApiStack) -> None:
    _, key = api_stack.new_tenant()

    def chunks():
        yield b'{"session_id": "s-big", "attributes": {"pad": "'
        for _ in range(3 * 1024):  # 3 MiB, never declared
            yield b"x" * 1024
        yield b'"}}'

    with api_stack.client(key) as client:
        response = client.post("/v1/usage", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert "at most 1 MiB" in response.json()["detail"]


def test_the_batch_endpoint_takes_a_full_batch_larger_than_one_event_may_be(api_stack: ApiStack) -> None:
    _, key = api_stack.new_tenant()
    events = [{**IMAGE, "session_id": "s-batch", "attributes": {f"note{i}": "n" * 200 for i in range(8)}} for _ in range(1000)]
    payload = json.dumps({"events": events}).encode()
    assert len(payload) > 1024 * 1024
    with api_stack.client(key) as client:
        single = client.post("/v1/usage", content=payload, headers={"Content-Type": "application/json"})
        batch = client.post("/v1/usage/batch", content=payload, headers={"Content-Type": "application/json"})
    assert single.status_code == 413
    assert batch.status_code == 200, batch.text
    assert batch.json()["accepted"] == 1000


def test_a_body_within_the_limit_is_read_as_sent(api_stack: ApiStack, tenant) -> None:
    _, client = tenant
    response = client.post("/v1/usage", json={**IMAGE, "session_id": "s-small"})
    assert response.status_code == 202
    assert response.json()["session_id"] == "s-small"
