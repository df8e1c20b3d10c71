"""A third-party node type, installed as a package with a `flomation.nodes` entry point, runs
in a flow through `flomation run` (the worked example of docs/writing-a-node-type.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent / "fixtures" / "example_node_pkg"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("plugin")
    source = work / "source"
    shutil.copytree(PACKAGE, source)  # building writes metadata next to the sources
    # pip builds the wheel with setuptools in an isolated environment (from the package index).
    target = work / "site"
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


def run_flow(site: Path, flow: Path, input_json: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from flomation.cli import main; main()",
            "run",
            str(flow),
            "--input",
            input_json,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        },
    )


def test_an_installed_plugin_node_type_runs_in_a_flow(installed: Path) -> None:
    done = run_flow(installed, PACKAGE / "flow.json", '{"title": "Hello, Wörld! 2026"}')
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout)
    assert execution["output"] == {"url": "/posts/hello-world-2026"}
    assert execution["logs"][0]["message"] == "slugified 3 words"


def test_the_plugin_is_listed_with_the_node_types(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flomation.engine.nodes.registry import BUILTIN_TYPES, NodeRegistry

    monkeypatch.syspath_prepend(str(installed))
    registry = NodeRegistry(BUILTIN_TYPES)
    registry.load_entry_points()
    (item,) = [i for i in registry.describe() if i["type"] == "slugify"]
    assert item["group"] == "text"
    assert item["ports"] == ["success", "error"]
    sys.modules.pop("flomation_example_nodes", None)


def test_without_the_plugin_the_flow_is_invalid() -> None:
    from flomation.engine.validation import validate_definition

    report = validate_definition(json.loads((PACKAGE / "flow.json").read_text()))
    assert [e["msg"].split(" (")[0] for e in report.errors] == ["unknown node type 'slugify'"]
