"""The messaging and web-API integrations are registered: their node types in the default
node registry (with the connection types they take), their connection types with probes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flomation.engine.nodes.registry import default_registry
from flomation.integrations.base import PROBE_TIMEOUT_S
from flomation.integrations.registry import connection_types, make_connection

NODES = {
    "amqp.publish": ("amqp",),
    "mqtt.publish": ("mqtt",),
    "nats.publish": ("nats",),
    "slack.message": ("slack",),
    "llm.chat": ("openai",),
    "http": ("http",),
}
SECRETS = {
    "amqp": {"password"},
    "mqtt": {"password"},
    "nats": {"token", "password"},
    "slack": {"bot_token"},
    "openai": {"api_key"},
}


@pytest.mark.parametrize(("node_type", "accepts"), NODES.items())
def test_node_types_are_in_the_default_registry(node_type: str, accepts: tuple[str, ...]) -> None:
    found = default_registry().get(node_type)
    assert found is not None
    described = found.describe()
    assert described["connection_types"] == list(accepts)
    assert described["config_schema"]["properties"]["connection"]["x-template"] is False
    if node_type != "http":  # the http node works without a connection too
        assert "connection" in described["config_schema"]["required"]


@pytest.mark.parametrize("type_name", ["amqp", "mqtt", "nats", "slack", "openai", "http"])
def test_connection_types_are_registered_with_a_probe(type_name: str) -> None:
    found = connection_types().get(type_name)
    assert found is not None
    assert found.probe is not None
    described = found.describe()
    assert described["type"] == type_name
    assert described["title"]
    assert described["schema"]["type"] == "object"
    if type_name in SECRETS:
        assert set(described["secret_fields"]) == SECRETS[type_name]
    assert PROBE_TIMEOUT_S == 15.0


def test_a_connections_secret_values_are_what_the_masker_hides() -> None:
    made = make_connection("c", "nats", {"servers": "nats://h", "user": "u", "password": "pw"})
    assert made.secret_values() == ["pw"]


def test_loading_the_registries_imports_no_broker_client() -> None:
    # A fresh interpreter: this one's test modules imported the clients already.
    code = (
        "import sys\n"
        "from flomation.engine.nodes.registry import default_registry\n"
        "from flomation.integrations.registry import connection_types\n"
        "default_registry(); connection_types()\n"
        "print(sorted(m for m in ('aio_pika', 'aiormq', 'aiomqtt', 'paho', 'nats') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
