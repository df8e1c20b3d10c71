"""`flomation run` takes connections as a runner does (the secrets file's `connections` object,
`FLOMATION_CONNECTION_<NAME>` winning), and its subflows share them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.connections.fakes import echo_flow
from tests.engine.test_cli_run import in_process, write

FILE_PASSWORD = "file-password-4"
ENV_PASSWORD = "env-password-5"


def test_flomation_run_uses_local_connections_in_flows_and_subflows(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    write(flows / "child.json", echo_flow("warehouse"))
    parent = write(
        tmp_path / "parent.json",
        {
            "version": 1,
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "call", "type": "subflow", "config": {"flow": "child"}},
                {"id": "echo", "type": "conntest.echo", "config": {"connection": "archive"}},
                {
                    "id": "out",
                    "type": "return",
                    "config": {
                        "value": {
                            "child": "{{ nodes.call.output }}",
                            "own": "{{ nodes.echo.output }}",
                        }
                    },
                },
            ],
            "edges": [
                {"from": "start", "to": "call"},
                {"from": "call", "to": "echo"},
                {"from": "echo", "to": "out"},
            ],
        },
    )
    secrets = write(
        tmp_path / "secrets.json",
        {
            "TOKEN": "a-secret-beside-the-connections",
            "connections": {
                "warehouse": {"type": "conntest", "values": {"host": "file", "port": 1}},
                "archive": {
                    "type": "conntest",
                    "values": {"host": "archive", "port": 2, "password": FILE_PASSWORD},
                },
            },
        },
    )
    env = {
        "FLOMATION_CONNECTION_warehouse": json.dumps(
            {"type": "conntest", "values": {"host": "env", "port": 3, "password": ENV_PASSWORD}}
        )
    }
    done = in_process(str(parent), "--secrets", str(secrets), "--flows-dir", str(flows), env=env)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["output"] == {
        "child": {"name": "warehouse", "type": "conntest", "host": "env", "password": "***"},
        "own": {"name": "archive", "type": "conntest", "host": "archive", "password": "***"},
    }
    assert ENV_PASSWORD not in done.stdout + done.stderr
    assert FILE_PASSWORD not in done.stdout + done.stderr


def test_flomation_run_refuses_a_bad_local_connection_without_its_value(tmp_path: Path) -> None:
    flow = write(tmp_path / "flow.json", echo_flow("warehouse"))
    env = {"FLOMATION_CONNECTION_warehouse": "{broken " + ENV_PASSWORD}
    done = in_process(str(flow), env=env)
    assert done.returncode == 2
    assert "FLOMATION_CONNECTION_warehouse must hold the JSON" in done.stderr
    assert ENV_PASSWORD not in done.stderr
