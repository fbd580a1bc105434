"""docker-compose.yml must stay in step with the settings object."""

from pathlib import Path

import yaml

from meterstream.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_describes_the_production_like_stack():
    assert {"kafka", "clickhouse", "worker", "sink"} <= set(compose()["services"])


def test_every_meterstream_variable_in_compose_is_a_setting():
    known = {f"METERSTREAM_{name.upper()}" for name in Settings.model_fields}
    used = {
        name
        for service in compose()["services"].values()
        for name in service.get("environment", {})
        if name.startswith("METERSTREAM_")
    }
    assert used, "compose sets no METERSTREAM_ variables"
    assert used <= known, f"unknown to Settings: {sorted(used - known)}"


def test_the_compose_settings_parse(monkeypatch):
    for service in ("worker", "sink"):
        env = compose()["services"][service]["environment"]
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        settings = Settings()
        assert settings.clickhouse_url.startswith("http://")
        assert settings.kafka_bootstrap == "kafka:9092"


def test_the_kafka_pom_is_shared_with_deploy():
    assert (ROOT / "deploy/kafka/pom.xml").resolve() == (ROOT / "meterstream/devstack/kafka/pom.xml").resolve()
