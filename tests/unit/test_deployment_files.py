"""docker-compose.yml must stay in step with the settings object."""

from pathlib import Path

import yaml

from meterstream.api.settings import ApiSettings
from meterstream.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


BROKERS = ("kafka-1", "kafka-2", "kafka-3")


def test_compose_describes_the_production_like_stack():
    assert {*BROKERS, "clickhouse", "worker", "sink", "api"} <= set(compose()["services"])


def brokers() -> dict[str, dict]:
    return {name: compose()["services"][name]["environment"] for name in BROKERS}


def test_the_three_brokers_form_one_kraft_quorum():
    envs = brokers()
    assert {env["KAFKA_NODE_ID"] for env in envs.values()} == {1, 2, 3}
    assert len({env["CLUSTER_ID"] for env in envs.values()}) == 1
    for name, env in envs.items():
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        # Every node votes in the same quorum of all three, each voter at its own service name.
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert sorted(voters) == [f"{i}@kafka-{i}:9093" for i in (1, 2, 3)]
        assert env["KAFKA_LISTENERS"].endswith("CONTROLLER://:9093")


def test_the_brokers_own_topics_are_replicated_three_times():
    for env in brokers().values():
        for name in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG", "SHARE_COORDINATOR_STATE_TOPIC"):
            assert env[f"KAFKA_{name}_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == 2
        assert env["KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR"] == 2
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2


def test_the_pipeline_waits_for_every_broker():
    services = compose()["services"]
    for service in ("worker", "sink", "api"):
        assert {name: services[service]["depends_on"][name] for name in BROKERS} == {
            name: {"condition": "service_healthy"} for name in BROKERS
        }


def test_every_meterstream_variable_in_compose_is_a_setting():
    known = ({f"METERSTREAM_{name.upper()}" for name in Settings.model_fields}
             | {f"METERSTREAM_API_{name.upper()}" for name in ApiSettings.model_fields})
    used = {
        name
        for service in compose()["services"].values()
        for name in service.get("environment", {})
        if name.startswith("METERSTREAM_")
    }
    assert used, "compose sets no METERSTREAM_ variables"
    assert used <= known, f"unknown to Settings: {sorted(used - known)}"


def test_the_compose_settings_parse(monkeypatch):
    for service in ("worker", "sink", "api"):
        env = compose()["services"][service]["environment"]
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        settings = Settings()
        ApiSettings()
        assert settings.clickhouse_url.startswith("http://")
        assert settings.kafka_bootstrap == ",".join(f"{name}:9092" for name in BROKERS)
        assert (settings.topic_replication_factor, settings.topic_min_insync_replicas) == (3, 2)


def test_the_kafka_pom_is_shared_with_deploy():
    assert (ROOT / "deploy/kafka/pom.xml").resolve() == (ROOT / "meterstream/devstack/kafka/pom.xml").resolve()


def test_only_the_api_is_published_and_the_worker_needs_its_token():
    services = compose()["services"]
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert published == {"api": ["8000:8000"]}, "the worker's endpoints show every tenant's totals: keep them unpublished"
    for name in ("worker", "sink", "api"):
        env = services[name]["environment"]
        # compose refuses to start without the operator's secret (${VAR:?message})
        assert env["METERSTREAM_WORKER_TOKEN"].startswith("${METERSTREAM_WORKER_TOKEN:?"), name
        assert env["METERSTREAM_WORKER_HOST"] == ("0.0.0.0" if name == "worker" else "worker"), name
    assert services["api"]["environment"]["METERSTREAM_API_TOKEN_SECRET"].startswith("${METERSTREAM_API_TOKEN_SECRET:?")


def test_the_api_runs_without_a_sink_beside_the_clickhouse_server():
    api = compose()["services"]["api"]
    assert api["command"] == ["serve", "--no-sink"]
    assert api["environment"]["METERSTREAM_API_HOST"] == "0.0.0.0"
    assert api["depends_on"]["clickhouse"] == {"condition": "service_healthy"}


def test_the_budget_owners_answer_the_api_at_an_address_they_reach():
    api = compose()["services"]["api"]["environment"]
    assert api.get("METERSTREAM_BUDGET_REPLIES", "direct") == "direct"
    assert api["METERSTREAM_BUDGET_REPLY_HOST"] == "api", "127.0.0.1 in the api container is not reachable from the worker"
