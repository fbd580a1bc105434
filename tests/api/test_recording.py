"""Recording usage: validation with per-field errors, batches, retries and the session lifecycle."""

from __future__ import annotations

import concurrent.futures
import uuid

import pytest

from meterstream.api.recent import RecentEvents
from tests.api.conftest import eventually

pytestmark = pytest.mark.integration

IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 2}}


def stats(client, session_id: str) -> dict:
    return client.get(f"/v1/sessions/{session_id}/stats").json()


def test_a_single_invalid_event_is_rejected_naming_the_field(tenant) -> None:
    _, client = tenant
    response = client.post("/v1/usage", json={**IMAGE, "session_id": "s1", "usage": {"unit": "images", "images": -1}})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["usage.images.images"]


def test_a_batch_records_its_valid_items_and_names_the_fields_of_the_others(tenant) -> None:
    _, client = tenant
    session_id = f"batch-{uuid.uuid4().hex[:8]}"
    good = {**IMAGE, "session_id": session_id}
    result = client.post("/v1/usage/batch", json={"events": [
        good,
        {**good, "usage": {"unit": "images", "images": "many"}},
        {**good, "model": ""},
        {**good, "occurred_at": "2099-01-01T00:00:00Z"},
        {**good, "service": "telepathy"},
        good,
    ]}).json()
    assert (result["accepted"], result["rejected"]) == (2, 4)
    assert [item["status"] for item in result["items"]] == ["accepted", "rejected", "rejected", "rejected",
                                                            "rejected", "accepted"]
    assert [[e["field"] for e in item["errors"]] for item in result["items"][1:5]] == [
        ["usage.images.images"], ["model"], ["occurred_at"], ["service"]]
    totals = eventually(lambda: (s := stats(client, session_id))["operations"] == 2 and s, what="two operations")
    assert totals["total_cost"] == "0.16"


def test_a_batch_starts_each_new_session_by_its_first_event_and_refuses_only_an_ended_sessions_items(
        api_stack, tenant) -> None:
    _, client = tenant
    ended = client.post("/v1/sessions", json={}).json()["session_id"]
    client.post(f"/v1/sessions/{ended}/end")
    _, stranger = api_stack.new_tenant()
    foreign = f"foreign-{uuid.uuid4().hex[:8]}"
    with api_stack.client(stranger) as other:
        assert other.post("/v1/usage", json={**IMAGE, "session_id": foreign}).status_code == 202
    new = [f"many-{uuid.uuid4().hex[:8]}-{n}" for n in range(30)]  # sessions are admitted all at once
    events = [{**IMAGE, "session_id": session_id, "user_id": f"user-{n}"} for n, session_id in enumerate(new)]
    events[3:3] = [{**IMAGE, "session_id": ended}, {**IMAGE, "session_id": foreign}]
    events.append({**IMAGE, "session_id": new[0], "user_id": "someone-later"})
    result = client.post("/v1/usage/batch", json={"events": events}).json()
    assert (result["accepted"], result["rejected"]) == (31, 2)
    assert [item["index"] for item in result["items"]] == list(range(len(events)))
    refused = {item["session_id"]: item["errors"][0] for item in result["items"] if item["status"] == "rejected"}
    assert set(refused) == {ended, foreign} and {e["field"] for e in refused.values()} == {"session_id"}
    assert "ended" in refused[ended]["reason"]
    for n in (0, 29):
        session = client.get(f"/v1/sessions/{new[n]}").json()
        assert (session["status"], session["started_by"], session["user_id"]) == ("active", "implicit", f"user-{n}")


def test_a_batch_over_1000_events_is_refused_whole(tenant) -> None:
    _, client = tenant
    response = client.post("/v1/usage/batch", json={"events": [{**IMAGE, "session_id": "s"}] * 1001})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events"


def test_resending_an_event_id_counts_it_once(tenant) -> None:
    _, client = tenant
    session_id = f"retry-{uuid.uuid4().hex[:8]}"
    event = {**IMAGE, "session_id": session_id, "event_id": str(uuid.uuid4())}
    first, retry = client.post("/v1/usage", json=event), client.post("/v1/usage", json=event)
    assert first.json()["event_id"] == retry.json()["event_id"] == event["event_id"]
    marker = {**IMAGE, "session_id": session_id}  # processed after both: its count proves they were seen
    client.post("/v1/usage", json=marker)
    totals = eventually(lambda: (s := stats(client, session_id))["operations"] >= 2 and s, what="the marker")
    assert totals["operations"] == 2 and totals["total_cost"] == "0.16"


def test_the_first_event_starts_a_session_implicitly(tenant) -> None:
    _, client = tenant
    session_id = f"implicit-{uuid.uuid4().hex[:8]}"
    assert client.get(f"/v1/sessions/{session_id}").status_code == 404
    client.post("/v1/usage", json={**IMAGE, "session_id": session_id, "user_id": "bilal"})
    session = client.get(f"/v1/sessions/{session_id}").json()
    assert (session["status"], session["started_by"], session["user_id"]) == ("active", "implicit", "bilal")


def test_concurrent_events_are_each_answered_as_alone_while_their_sessions_are_decided_together(
        api_stack, tenant) -> None:
    _, client = tenant
    ended = client.post("/v1/sessions", json={}).json()["session_id"]
    client.post(f"/v1/sessions/{ended}/end")
    new = [f"together-{uuid.uuid4().hex[:8]}-{n}" for n in range(4)]
    bodies = [{**IMAGE, "session_id": new[n % 4], "user_id": "ana"} for n in range(16)]
    bodies += [{**IMAGE, "session_id": ended}] * 4
    key = client.headers["Authorization"].removeprefix("Bearer ")

    def post(body: dict) -> int:
        with api_stack.client(key) as own:
            return own.post("/v1/usage", json=body).status_code

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        statuses = list(pool.map(post, bodies))
    assert statuses == [202] * 16 + [409] * 4
    for session_id in new:
        session = client.get(f"/v1/sessions/{session_id}").json()
        assert (session["status"], session["started_by"], session["user_id"]) == ("active", "implicit", "ana")
    assert eventually(lambda: all(stats(client, s)["operations"] == 4 for s in new), what="four operations each")


def test_a_started_session_has_a_unique_server_id_and_empty_stats(tenant) -> None:
    _, client = tenant
    first = client.post("/v1/sessions", json={"user_id": "chen", "labels": {"app": "studio"}}).json()
    second = client.post("/v1/sessions", json={}).json()
    assert first["session_id"] != second["session_id"]
    assert (first["user_id"], first["labels"], first["started_by"]) == ("chen", {"app": "studio"}, "explicit")
    empty = stats(client, first["session_id"])
    assert (empty["operations"], empty["total_cost"], empty["by_service"]) == (0, "0", {})


def test_an_ended_session_rejects_new_usage_with_a_clear_error(tenant) -> None:
    _, client = tenant
    session_id = client.post("/v1/sessions", json={}).json()["session_id"]
    ended = client.post(f"/v1/sessions/{session_id}/end").json()
    assert ended["status"] == "ended" and ended["ended_at"] is not None
    refused = client.post("/v1/usage", json={**IMAGE, "session_id": session_id})
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(f"session {session_id} ended at ")
    assert "start a new session" in refused.json()["detail"]
    assert client.post(f"/v1/sessions/{session_id}/end").json()["ended_at"] == ended["ended_at"]


def test_an_event_id_resent_with_other_content_is_a_conflict_not_a_silent_duplicate(api_stack, tenant) -> None:
    _, client = tenant
    session_id = f"conflict-{uuid.uuid4().hex[:8]}"
    event_id = str(uuid.uuid4())
    first = {**IMAGE, "session_id": session_id, "event_id": event_id}
    changed = {**first, "usage": {"unit": "images", "images": 7}}
    assert client.post("/v1/usage", json=first).status_code == 202
    assert client.post("/v1/usage", json=first).status_code == 202  # a retry: harmless
    refused = client.post("/v1/usage", json=changed)
    assert refused.status_code == 409 and event_id in refused.json()["detail"]
    batch = client.post("/v1/usage/batch", json={"events": [changed]}).json()
    assert batch["items"][0]["status"] == "rejected" and batch["items"][0]["errors"][0]["field"] == "event_id"
    other = str(uuid.uuid4())
    inside = client.post("/v1/usage/batch", json={"events": [
        {**first, "event_id": other}, {**changed, "event_id": other}]}).json()
    assert [item["status"] for item in inside["items"]] == ["accepted", "rejected"]

    # What this host cannot tell (sent through another host, say), the stream counts apart.
    api_stack.server.services.recent = RecentEvents()
    assert client.post("/v1/usage", json=changed).status_code == 202
    health = eventually(lambda: (h := client.get("/v1/usage/health").json())["conflicts"] == 1 and h,
                        what="the conflict counted by the stream")
    assert health["priced"] == 2 and health["duplicates"] == 1
    assert stats(client, session_id)["images"] == 4  # the first of each id counts, 2 + 2
