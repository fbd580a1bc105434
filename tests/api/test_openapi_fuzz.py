"""schemathesis against the published OpenAPI schema: generated requests, including invalid
ones, never make the API fail with a server error, and answers match the schema.

The SSE stream is left out: its 200 answer never ends. Runs on the real pipeline, as a
tenant of its own.

Three checks are off, because JSON Schema cannot say what the API rightly enforces or
allows: positive_data_acceptance (a schema-valid event can still be refused: occurred_at
an hour ahead, a tenant_id that is not the key's, grouping by attribute without naming
it), negative_data_rejection (unknown query parameters are ignored, and pydantic's lax
mode reads `false` as 0) and allow_header_conformance (405 answers carry no Allow header).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import allow_header_conformance, negative_data_rejection, positive_data_acceptance

from meterstream.api import create_app
from meterstream.settings import Settings
from tests.api.conftest import ApiStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fuzz_key(api_stack: ApiStack) -> str:
    return api_stack.new_tenant()[1]


# The schema the API publishes at /openapi.json, built without starting it.
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi()).exclude(path_regex=r"/events$")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_answers_match_the_schema(case, api_stack: ApiStack, fuzz_key: str) -> None:
    case.call_and_validate(
        base_url=api_stack.url, headers={"Authorization": f"Bearer {fuzz_key}"},
        excluded_checks=[positive_data_acceptance, negative_data_rejection, allow_header_conformance],
    )
