"""Runner-local connections: `FLOMATION_CONNECTION_<NAME>` first, then the `connections` object
of the secrets file, then the API's; bad ones refuse the runner's start, never showing values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flomation.protocol import ClaimedConnection
from flomation.runner.local_secrets import LocalSecrets, SecretsFileError

VALUE = "local-secret-value-9"


def test_the_environment_wins_over_the_file_and_both_over_the_api(tmp_path: Path) -> None:
    file = tmp_path / "secrets.json"
    file.write_text(
        json.dumps(
            {
                "TOKEN": "a secret beside the connections",
                "connections": {
                    "db": {"type": "postgres", "values": {"host": "from-file"}},
                    "queue": {"type": "amqp", "values": {"url": "amqp://file"}},
                },
            }
        )
    )
    env = {
        "FLOMATION_CONNECTION_db": json.dumps(
            {"type": "postgres", "values": {"host": "from-env", "password": VALUE}}
        )
    }
    local = LocalSecrets.load(environ=env, file=file)
    assert local.resolve({}) == {"TOKEN": "a secret beside the connections"}
    resolved = local.connections(
        {
            "db": ClaimedConnection(type="postgres", values={"host": "from-api"}),
            "api_only": ClaimedConnection(
                type="redis", values={"url": "redis://x"}, status="needs_reconnect"
            ),
        }
    )
    assert {name: dict(c.values) for name, c in resolved.items()} == {
        "db": {"host": "from-env", "password": VALUE},
        "queue": {"url": "amqp://file"},
        "api_only": {"url": "redis://x"},
    }
    assert resolved["api_only"].status == "needs_reconnect"
    assert resolved["db"].name == "db"
    assert VALUE not in repr(local)
    assert "db" in repr(local)


def test_a_type_this_runner_does_not_know_masks_every_string_value() -> None:
    local = LocalSecrets({})
    [connection] = local.connections(
        {"x": ClaimedConnection(type="plugin.elsewhere", values={"key": VALUE, "n": 3})}
    ).values()
    assert connection.secret_values() == [VALUE]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FLOMATION_CONNECTION_db": "{not json " + VALUE}, "must hold the JSON"),
        ({"FLOMATION_CONNECTION_db": json.dumps({"values": {"p": VALUE}})}, "type"),
        ({"FLOMATION_CONNECTION_db": json.dumps({"type": "t", "values": VALUE})}, "values"),
        ({"FLOMATION_CONNECTION_9db": json.dumps({"type": "t", "values": {}})}, "must match"),
        (
            {"FLOMATION_CONNECTION_db": json.dumps({"type": "t", "values": {}, "x": VALUE})},
            "must be a JSON object",
        ),
    ],
)
def test_a_bad_environment_connection_is_refused_without_its_value(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SecretsFileError, match=message) as refused:
        LocalSecrets.load(environ=env)
    assert VALUE not in str(refused.value)


@pytest.mark.parametrize(
    ("connections", "message"),
    [
        ({"bad name": {"type": "t", "values": {}}}, "must match"),
        ({"db": "postgres://user:" + VALUE}, "must be a JSON object"),
        ({"db": {"type": 3, "values": {"p": VALUE}}}, "type"),
    ],
)
def test_a_bad_file_connection_is_refused_without_its_value(
    tmp_path: Path, connections: object, message: str
) -> None:
    file = tmp_path / "secrets.json"
    file.write_text(json.dumps({"connections": connections}))
    with pytest.raises(SecretsFileError, match=message) as refused:
        LocalSecrets.load(environ={}, file=file)
    assert VALUE not in str(refused.value)
