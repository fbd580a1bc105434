"""When the worker's HTTP endpoints need a token."""

import pytest
from pydantic import SecretStr

from meterstream.settings import Settings, settings_env
from meterstream.stream.web_access import WorkerTokenMissing, required_token


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_token(host):
    assert required_token(Settings(worker_host=host)) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.7", "worker", "::"])
def test_any_other_address_needs_one(host):
    with pytest.raises(WorkerTokenMissing, match="set METERSTREAM_WORKER_TOKEN"):
        required_token(Settings(worker_host=host))
    assert required_token(Settings(worker_host=host, worker_token=SecretStr("t"))) == "t"


def test_the_token_reaches_child_processes_and_requests():
    settings = Settings(worker_token=SecretStr("t0ken"))
    assert settings_env(settings)["METERSTREAM_WORKER_TOKEN"] == "t0ken"
    assert settings.worker_headers() == {"Authorization": "Bearer t0ken"}
    assert Settings().worker_headers() == {}
