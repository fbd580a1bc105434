from collections.abc import Iterator

import pytest

from meterstream.devstack.pipeline import LocalPipeline
from meterstream.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def pipeline(pipeline_settings: Settings) -> Iterator[LocalPipeline]:
    """Worker (own process) and sink (this process) on the session's broker and ClickHouse."""
    with LocalPipeline(pipeline_settings, own_broker=False) as running:
        yield running
