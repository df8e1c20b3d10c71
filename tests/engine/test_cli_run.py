"""`flomation run` as a user runs it: a real subprocess, JSON on stdout, logs on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from flomation.cli.run import run as run_command
from tests.engine.flows import ECHO, edge, flow, node, ret

FLOMATION = [sys.executable, "-c", "from flomation.cli import main; main()"]


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def in_process(*args: str, env: dict[str, str] | None = None) -> Done:
    """The same command through typer in this process (a subprocess costs seconds)."""
    app = typer.Typer()
    app.callback()(lambda: None)  # keeps `run` a subcommand, as in the real app
    app.command("run")(run_command)
    result = CliRunner().invoke(app, ["run", *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Done(result.exit_code, result.stdout, result.stderr)


def flomation(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLOMATION, "run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_runs_a_flow_and_prints_the_execution(tmp_path: Path) -> None:
    done = flomation(str(write(tmp_path / "echo.json", ECHO)), "--input", '{"n": 21}')
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout)
    assert execution["status"] == "succeeded"
    assert execution["output"] == {"m": 42, "tag": "ok"}
    assert execution["error"] is None
    assert [s["node_id"] for s in execution["steps"]] == ["start", "double", "out"]
    assert {
        "id",
        "flow_id",
        "revision",
        "trigger",
        "attempt",
        "logs",
        "started_at",
        "finished_at",
    } <= set(execution)


def test_a_failed_execution_exits_non_zero_with_the_document(tmp_path: Path) -> None:
    doc = flow(
        [node("start", "start"), node("f", "fail", config={"message": "no"})], [edge("start", "f")]
    )
    done = in_process(str(write(tmp_path / "f.json", doc)))
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["type"] == "fail"
    assert "execution failed at node 'f': fail: no" in done.stderr


def test_logs_go_to_stderr_and_vars_and_secrets_come_from_files_and_env(tmp_path: Path) -> None:
    doc = flow(
        [
            node("start", "start"),
            node(
                "l",
                "log",
                config={"message": "{{ vars.greeting }} {{ vars.who }} {{ secrets.TOKEN }}"},
            ),
            ret("r", {"n": "{{ vars.n }}", "t": "{{ secrets.TOKEN | length }}"}),
        ],
        [edge("start", "l"), edge("l", "r")],
    )
    (tmp_path / "vars.json").write_text(json.dumps({"greeting": "hello"}))
    (tmp_path / "secrets.json").write_text(json.dumps({"TOKEN": "tok-123456"}))
    done = in_process(
        str(write(tmp_path / "l.json", doc)),
        "--vars",
        str(tmp_path / "vars.json"),
        "--secrets",
        str(tmp_path / "secrets.json"),
        env={"FLOMATION_VAR_who": "world", "FLOMATION_VAR_n": "7"},
    )
    assert done.returncode == 0, done.stderr
    assert "hello world ***" in done.stderr
    assert "tok-123456" not in done.stdout + done.stderr
    assert json.loads(done.stdout)["output"] == {"n": 7, "t": 10}


def test_subflows_run_from_a_flows_directory(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    write(flows / "double.json", ECHO)
    parent = flow(
        [
            node("start", "start"),
            node("s", "subflow", config={"flow": "double", "input": {"n": 4}}),
            ret("r", "{{ nodes.s.output.m }}"),
        ],
        [edge("start", "s"), edge("s", "r")],
    )
    done = in_process(str(write(tmp_path / "p.json", parent)), "--flows-dir", str(flows))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == 8


def test_bad_input_gives_a_clear_message_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{nope")
    cases = [
        ([str(tmp_path / "missing.json")], "does not exist"),
        ([str(tmp_path / "broken.json")], "is not valid JSON"),
        (
            [str(write(tmp_path / "invalid.json", {"version": 1, "nodes": [], "edges": []}))],
            "exactly one start",
        ),
        ([str(write(tmp_path / "ok.json", ECHO)), "--input", "{bad"], "--input is not valid JSON"),
        (
            [str(tmp_path / "ok.json"), "--vars", str(tmp_path / "missing-vars.json")],
            "does not exist",
        ),
    ]
    for args, message in cases:
        done = in_process(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr
        assert "Traceback" not in done.stderr
        assert done.stdout == ""


def test_input_is_checked_against_the_start_schema(tmp_path: Path) -> None:
    doc = flow(
        [
            node("start", "start", config={"input_schema": {"type": "object", "required": ["n"]}}),
            ret("r", 1),
        ],
        [edge("start", "r")],
    )
    done = in_process(str(write(tmp_path / "s.json", doc)), "--input", "{}")
    assert done.returncode == 2
    assert "'n' is a required property" in done.stderr


def test_python_nodes_run_in_the_code_sandbox(tmp_path: Path) -> None:
    doc = flow(
        [
            node("start", "start"),
            node(
                "p", "python", config={"code": "def main(ctx):\n    return ctx['input']['n'] * 2"}
            ),
            ret("r", "{{ nodes.p.output }}"),
        ],
        [edge("start", "p"), edge("p", "r")],
    )
    done = in_process(str(write(tmp_path / "py.json", doc)), "--input", '{"n": 21}')
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["output"] == 42


# Issue 25: whatever the flow's content, the answer is the execution document, never a
# traceback.


def test_a_node_output_that_is_not_valid_unicode_prints_the_failed_execution(
    tmp_path: Path,
) -> None:
    doc = flow(
        [
            node("start", "start"),
            node("p", "python", config={"code": "def main(ctx):\n    return chr(0xD800)"}),
        ],
        [edge("start", "p")],
    )
    done = flomation(str(write(tmp_path / "surrogate.json", doc)))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    execution = json.loads(done.stdout)
    assert execution["status"] == "failed"
    assert execution["error"]["node_id"] == "p"
    assert "lone surrogate" in execution["error"]["message"]
