"""A third-party connection type and the node that uses it, installed as a package with
`flomation.connection_types` and `flomation.nodes` entry points: the worked example of
docs/writing-a-node-type.md ("Connection types and integration nodes"). The flow runs through
`flomation run` with a runner-local connection, against a small status page API on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PACKAGE = Path(__file__).parent / "fixtures" / "example_connection_pkg"
API_KEY = "sp-key-4f1d2e9c7b"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("connection-plugin")
    source = work / "source"
    shutil.copytree(PACKAGE, source)  # building writes metadata next to the sources
    target = work / "site"
    # pip builds the wheel with setuptools in an isolated environment, as for example_node_pkg.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return target


@dataclass
class StatusPage:
    """A status page API on loopback: what it was sent."""

    base_url: str
    incidents: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def status_page() -> Iterator[StatusPage]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    page = StatusPage(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    server.page = page  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield page
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        given = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if given == API_KEY:
            return True
        # As careless services do: the refused key is quoted back in the error.
        self._answer(401, {"error": f"unknown API key {given!r}"})
        return False

    def do_GET(self) -> None:
        if self.path == "/v1/me" and self._authorized():
            self._answer(200, {"page": "Acme status"})
        elif self.path != "/v1/me":
            self._answer(404, {"error": "no such path"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/incidents":
            self._answer(404, {"error": "no such path"})
        elif self._authorized():
            page: StatusPage = self.server.page  # type: ignore[attr-defined]
            page.incidents.append(body)
            number = len(page.incidents)
            self._answer(
                201, {"id": f"inc_{number}", "url": f"https://status.example/incidents/{number}"}
            )


def _run(site: Path, page: StatusPage, api_key: str) -> subprocess.CompletedProcess[str]:
    """`flomation run` of the example flow, the connection `status` held by the runner."""
    connection = {"type": "statuspage", "values": {"base_url": page.base_url, "api_key": api_key}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from flomation.cli import main; main()",
            "run",
            str(PACKAGE / "flow.json"),
            "--input",
            '{"title": "Checkout is slow"}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "FLOMATION_CONNECTION_status": json.dumps(connection),
            "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        },
    )


def test_a_plugin_node_runs_through_a_runner_local_connection_of_the_plugin_type(
    installed: Path, status_page: StatusPage
) -> None:
    done = _run(installed, status_page, API_KEY)
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout)
    assert execution["status"] == "succeeded"
    assert execution["output"] == {"id": "inc_1", "url": "https://status.example/incidents/1"}
    assert status_page.incidents == [
        {"title": "Checkout is slow", "impact": "minor", "message": ""}
    ]
    assert any(line["message"] == "opened incident inc_1" for line in execution["logs"])


def test_a_refused_key_fails_the_node_with_the_service_answer_and_the_key_masked(
    installed: Path, status_page: StatusPage
) -> None:
    wrong_key = "sp-key-not-this-one-8a7b6c"
    done = _run(installed, status_page, wrong_key)
    execution = json.loads(done.stdout)
    assert execution["status"] == "failed"
    assert execution["error"]["type"] == "authentication"
    assert execution["error"]["node_id"] == "incident"
    # The plugin marked api_key secret: what the service quoted back is masked.
    assert execution["error"]["message"] == (
        "the status page refused the API key: unknown API key '***'"
    )
    assert wrong_key not in done.stdout
    assert wrong_key not in done.stderr
    assert status_page.incidents == []


async def test_the_plugin_connection_type_is_listed_and_its_probe_answers(
    installed: Path, status_page: StatusPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flomation.engine.nodes.base import AuthenticationError, EngineServices
    from flomation.engine.nodes.registry import BUILTIN_TYPES, NodeRegistry
    from flomation.integrations.registry import ConnectionTypeRegistry

    monkeypatch.syspath_prepend(str(installed))
    try:
        types = ConnectionTypeRegistry()
        types.load_entry_points()
        statuspage = types.get("statuspage")
        assert statuspage is not None
        (item,) = [i for i in types.describe() if i["type"] == "statuspage"]
        assert item["secret_fields"] == ["api_key"]
        assert item["title"] == "Status page"

        nodes = NodeRegistry(BUILTIN_TYPES)
        nodes.load_entry_points()
        (node,) = [i for i in nodes.describe() if i["type"] == "statuspage.incident"]
        assert node["connection_types"] == ["statuspage"]
        assert node["group"] == "statuspage"

        assert statuspage.probe is not None
        values = {"base_url": status_page.base_url, "api_key": API_KEY}
        services = EngineServices()
        try:
            answer = await statuspage.probe(values, services, 15.0)
            assert answer == "connected to the status page Acme status"
            with pytest.raises(AuthenticationError, match="refused the API key"):
                await statuspage.probe({**values, "api_key": "nope"}, services, 15.0)
        finally:
            await services.http().aclose()
        # The connection a node sees masks what the type marks secret.
        assert statuspage.connection("status", values).secret_values() == [API_KEY]
    finally:
        sys.modules.pop("flomation_example_statuspage", None)
