"""Reservations decided in one place: 200 concurrent requests over two API processes never
grant more than a blocking budget holds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.api.conftest import ApiStack, eventually, serve_process

pytestmark = pytest.mark.integration

PLAN = {"service": "text", "model": "gemini-2.5-flash", "usage": {"unit": "tokens", "input_tokens": 1_000_000}}
COST = Decimal("0.30")  # of PLAN, at list price
ROOM_FOR = 37
REQUESTS = 200


@pytest.fixture(scope="module")
def second_api(api_stack: ApiStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`meterstream serve --no-sink` as another OS process, sharing only Kafka, the worker and the
    state file with the first (its ClickHouse folder is its own: an embedded one has one owner)."""
    with serve_process(api_stack, tmp_path_factory.mktemp("second-api"),
                       METERSTREAM_API_STATE_PATH=str(api_stack.api_settings.state_path)) as url:
        yield url


async def _reserve_all(urls: list[str], key: str) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(headers=headers, timeout=60,
                                 limits=httpx.Limits(max_connections=REQUESTS)) as client:
        return await asyncio.gather(*(
            client.post(f"{urls[n % 2]}/v1/reservations", json={**PLAN, "session_id": f"s-{n}"})
            for n in range(REQUESTS)))


def test_concurrent_reservations_over_two_api_processes_grant_exactly_what_fits(api_stack: ApiStack, second_api: str):
    tenant_id, key = api_stack.new_tenant()
    with api_stack.client(key) as client:
        created = client.post("/v1/budgets", json={"name": "room for 37", "limit": str(COST * ROOM_FOR),
                                                   "action": "block"}).json()
        answers = asyncio.run(_reserve_all([api_stack.url, second_api], key))
        granted = [a.json() for a in answers if a.status_code == 201]
        refused = [a.json() for a in answers if a.status_code == 402]
        assert (len(granted), len(refused)) == (ROOM_FOR, REQUESTS - ROOM_FOR), {a.status_code for a in answers}
        assert all(r["refused_by"][0]["budget_id"] == created["budget_id"] for r in refused)
        shown = client.get(f"/v1/budgets/{created['budget_id']}").json()["status"]
        assert (Decimal(shown["reserved"]), Decimal(shown["remaining"])) == (COST * ROOM_FOR, 0)

        # Each call turned out to use a tenth of the tokens planned: settled at the actual cost.
        actual = {"service": "text", "model": "gemini-2.5-flash", "usage": {"unit": "tokens", "input_tokens": 100_000}}
        for n, hold in enumerate(granted):
            response = client.post("/v1/usage", json={**actual, "session_id": f"settle-{n}",
                                                      "reservation_id": hold["reservation_id"]})
            assert response.status_code == 202
        settled = eventually(lambda: (s := client.get(f"/v1/budgets/{created['budget_id']}").json()["status"])[
            "reserved"] == "0" and s, timeout=30, what="every hold settled")
        assert Decimal(settled["spent"]) == Decimal("0.03") * ROOM_FOR
