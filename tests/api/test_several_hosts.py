"""Two API hosts that share nothing but Kafka and the worker: the in-process API of the stack and
`meterstream serve --no-sink` in another process with its own data folder, its own embedded
ClickHouse and its own SQLite file. Keys, sessions and webhooks made on one hold on the other."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from meterstream.settings import settings_env
from tests.alerting import Receiver, produce_alerts, threshold_alert
from tests.api.conftest import ApiStack, eventually, serve_process

pytestmark = pytest.mark.integration

IMAGE = {"service": "image", "model": "imagen-4.0-generate", "usage": {"unit": "images", "images": 1}}


@pytest.fixture(scope="module")
def other_host(api_stack: ApiStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    own = tmp_path_factory.mktemp("other-host")
    with serve_process(api_stack, own, METERSTREAM_DATA_DIR=str(own / "data"),
                       METERSTREAM_API_STATE_PATH=str(own / "api.sqlite3")) as url:
        yield url


def client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def cli(api_stack: ApiStack, *argv: str) -> str:
    """`meterstream …` as an operator runs it on a third machine: Kafka is all it reaches."""
    env = {**os.environ, **settings_env(api_stack.settings)}
    done = subprocess.run([sys.executable, "-m", "meterstream", *argv], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def refused(url: str, key: str) -> bool:
    with client(url, key) as c:
        return c.get("/v1/pricing").status_code == 401


def test_a_key_made_on_one_host_works_on_the_other_and_a_revocation_reaches_both(
        api_stack: ApiStack, other_host: str) -> None:
    _, key = api_stack.new_tenant()  # made through the first host's store
    with client(other_host, key) as there:
        assert there.get("/v1/pricing").status_code == 200  # at once: an unknown key id is looked up again

    api_stack.store.revoke_key(key.split("_")[1])
    assert refused(api_stack.url, key)  # the host that revoked: the next request
    eventually(lambda: refused(other_host, key), timeout=2, what="the revocation on the other host")

    made = cli(api_stack, "keys", "create", "--tenant", "cli-tenant").splitlines()[-1]
    assert not refused(api_stack.url, made) and not refused(other_host, made)
    cli(api_stack, "keys", "revoke", made.split("_")[1])
    for url in (api_stack.url, other_host):
        eventually(lambda url=url: refused(url, made), timeout=2, what=f"the CLI's revocation on {url}")


def test_a_session_started_on_one_host_is_seen_and_ended_on_the_other(api_stack: ApiStack, other_host: str) -> None:
    _, key = api_stack.new_tenant()
    with client(api_stack.url, key) as here, client(other_host, key) as there:
        started = here.post("/v1/sessions", json={"user_id": "amira", "labels": {"app": "studio"}}).json()
        session_id = started["session_id"]
        assert there.get(f"/v1/sessions/{session_id}").json() == started
        assert [s["session_id"] for s in there.get("/v1/sessions").json()] == [session_id]
        assert there.post("/v1/usage", json={**IMAGE, "session_id": session_id}).status_code == 202

        ended = there.post(f"/v1/sessions/{session_id}/end").json()
        assert ended["status"] == "ended"
        refusal = here.post("/v1/usage", json={**IMAGE, "session_id": session_id})
        assert refusal.status_code == 409, refusal.text  # at once: the first host catches up before deciding
        batch = here.post("/v1/usage/batch", json={"events": [{**IMAGE, "session_id": session_id}]}).json()
        assert batch["rejected"] == 1
        assert here.get(f"/v1/sessions/{session_id}").json() == ended


def test_concurrent_first_usage_of_one_id_by_two_tenants_on_two_hosts_has_one_winner_everywhere(
        api_stack: ApiStack, other_host: str) -> None:
    first_tenant, first_key = api_stack.new_tenant()
    second_tenant, second_key = api_stack.new_tenant()
    with client(api_stack.url, first_key) as a_here, client(other_host, first_key) as a_there, \
            client(api_stack.url, second_key) as b_here, client(other_host, second_key) as b_there:
        winners = []
        for round_ in range(10):
            session_id = f"contested-{round_}-{first_tenant}"
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(lambda c: c.post("/v1/usage", json={**IMAGE, "session_id": session_id}),
                                        (a_here, b_there)))
            codes = [a.status_code for a in answers]
            assert sorted(codes) == [202, 403], codes
            won, lost = ((a_here, a_there), (b_here, b_there)) if codes[0] == 202 else \
                ((b_here, b_there), (a_here, a_there))
            for host in won:
                assert host.get(f"/v1/sessions/{session_id}").status_code == 200
                assert host.post("/v1/usage", json={**IMAGE, "session_id": session_id}).status_code == 202
            for host in lost:
                assert host.get(f"/v1/sessions/{session_id}").status_code == 404
                assert host.post("/v1/usage", json={**IMAGE, "session_id": session_id}).status_code == 403
            winners.append(codes[0] == 202)
    assert second_tenant != first_tenant and len(winners) == 10


def test_a_webhook_made_on_either_host_receives_alerts_relayed_by_both_and_both_feeds_show_them(
        api_stack: ApiStack, other_host: str) -> None:
    tenant, key = api_stack.new_tenant()
    with Receiver() as receiver, client(api_stack.url, key) as here, client(other_host, key) as there:
        made_here = here.post("/v1/webhooks", json={"url": receiver.url("/here")}).json()
        made_there = there.post("/v1/webhooks", json={"url": receiver.url("/there")}).json()
        receiver.route("/here", made_here["secret"])
        receiver.route("/there", made_there["secret"])
        assert {w["webhook_id"] for w in here.get("/v1/webhooks").json()["webhooks"]} == \
            {w["webhook_id"] for w in there.get("/v1/webhooks").json()["webhooks"]}

        # The hosts' relays split the alerts topic's partitions between them (one consumer group):
        # an alert on every partition, until each host has delivered some to both webhooks.
        partitions = api_stack.settings.topic_partitions
        sent: list[str] = []

        def both_hosts_delivered() -> bool:
            alerts = [threshold_alert(tenant, 50, budget=f"bud_{len(sent) + p}") for p in range(partitions)]
            for partition, alert in enumerate(alerts):
                produce_alerts(api_stack.settings.kafka_bootstrap, api_stack.settings.topic_alerts, [alert],
                               partition=partition)
            sent.extend(a.alert_id for a in alerts)
            logs = [{d["alert_id"] for d in host.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries").json()[
                "deliveries"] if d["status"] == "delivered"} for host in (here, there) for hook in (made_here, made_there)]
            return all(logs)

        eventually(both_hosts_delivered, timeout=60, what="deliveries relayed by each host to each webhook")
        for path in ("/here", "/there"):
            eventually(lambda path=path: {r.webhook_id for r in receiver.at(path)} >= set(sent[:-partitions]),
                       timeout=30, what=f"every alert at {path}")
            assert all(r.payload is not None for r in receiver.at(path))  # each one verified

        # Each host's feed shows every alert, whichever host relayed it.
        for host in (here, there):
            eventually(lambda host=host: {a["alert_id"] for a in host.get("/v1/alerts?limit=500").json()["alerts"]}
                       == set(sent), timeout=10, what="every alert in each host's feed")


def test_a_portal_token_minted_on_either_host_reads_the_session_on_both(api_stack: ApiStack, other_host: str) -> None:
    _, key = api_stack.new_tenant()
    with client(api_stack.url, key) as here, client(other_host, key) as there:
        session_id = here.post("/v1/sessions", json={}).json()["session_id"]
        assert here.post("/v1/usage", json={**IMAGE, "session_id": session_id}).status_code == 202
        eventually(lambda: here.get(f"/v1/sessions/{session_id}/stats").json()["operations"] == 1, what="totals")
        tokens = [c.post(f"/v1/sessions/{session_id}/tokens", json={}).json()["token"] for c in (here, there)]
    for token in tokens:
        for url in (api_stack.url, other_host):  # the signing secret is shared through the keys topic
            with client(url, token) as browser:
                assert browser.get(f"/v1/sessions/{session_id}/stats").json()["operations"] == 1, url
