"""`flomation run FLOW.json`: run a definition locally, without a server.

Prints the execution (the shape of `GET /api/v1/executions/{id}`) as one JSON document on
stdout; logs go to stderr. Exit status: 0 succeeded, 1 the execution did not succeed, 2 bad
input (missing file, bad JSON, invalid definition or input).

Whatever the flow does, the answer is that document: an execution that breaks something
inside the engine is printed as failed with an `internal` error, and values that cannot be
written as JSON are shown as notes; never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import typer

from flomation.cli import app
from flomation.engine.events import (
    ExecutionEvent,
    ExecutionRecorder,
    MultiSink,
    json_safe,
)
from flomation.engine.executor import Executor
from flomation.engine.isolation.runner import CodeRunner
from flomation.engine.local import LocalSubflowLauncher
from flomation.engine.nodes.base import Connection, EngineServices, ExecutionInfo
from flomation.engine.nodes.flow import check_input
from flomation.engine.nodes.registry import default_registry
from flomation.engine.plan import FlowPlan
from flomation.engine.validation import validate_definition
from flomation.protocol.statuses import ExecutionStatus
from flomation.runner.local_connections import (
    FILE_KEY,
    LocalConnectionError,
    LocalConnections,
    from_environment,
    from_file_section,
)
from flomation.timeutil import format_timestamp

VAR_PREFIX = "FLOMATION_VAR_"
SECRET_PREFIX = "FLOMATION_SECRET_"


class UsageError(Exception):
    """Bad input to the command: reported on stderr with exit status 2."""


def _read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{what} {path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise UsageError(f"{what} {path} is nested too deeply") from None


def _parse_input(text: str | None) -> Any:
    if text is None:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--input is not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise UsageError("--input is nested too deeply") from None


def _mapping_file(path: Path | None, what: str) -> dict[str, Any]:
    if path is None:
        return {}
    value = _read_json(path, what)
    if not isinstance(value, dict):
        raise UsageError(f"{what} {path} must hold a JSON object of names to values")
    return value


def _from_environment(prefix: str, *, parse_json: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in os.environ.items():
        if not key.startswith(prefix) or len(key) == len(prefix):
            continue
        value: Any = raw
        if parse_json:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                value = raw  # a plain string variable
        values[key[len(prefix) :]] = value
    return values


def _connections(section: Any, path: Path | None) -> dict[str, Connection]:
    """Connections from the secrets file's `connections` object, then (winning)
    `FLOMATION_CONNECTION_<NAME>`, as a runner reads its own."""
    try:
        found = from_file_section(section, str(path)) if section is not None else {}
        found.update(from_environment(os.environ))
    except LocalConnectionError as exc:
        raise UsageError(str(exc)) from None
    return LocalConnections(found).resolve({})


def _flows_from_dir(directory: Path | None) -> dict[str, Any]:
    if directory is None:
        return {}
    if not directory.is_dir():
        raise UsageError(f"--flows-dir {directory} is not a directory")
    return {path.stem: _read_json(path, "flow") for path in sorted(directory.glob("*.json"))}


CODE_NODE_TYPES = ("python", "shell")


async def _start_code_runner(plan: FlowPlan) -> Any:
    """The code sandbox, started only when the flow has python or shell nodes.

    When it cannot start, those nodes fail with a clear `unavailable` error of their own.
    """
    if not any(node.type in CODE_NODE_TYPES for node in plan.definition.nodes):
        return None
    runner = CodeRunner()
    try:
        await runner.start()
    except Exception as exc:
        print(f"warning: the code sandbox did not start: {exc}", file=sys.stderr)
        await runner.aclose()
        return None
    return runner


class _StderrLogs:
    """Writes the execution's log lines to stderr as they happen."""

    async def emit(self, event: ExecutionEvent) -> None:
        if event.kind == "log":
            node = event.data.get("node_id") or "-"
            print(
                f"{event.at} {event.data['level']:<7} [{node}] {event.data['message']}",
                file=sys.stderr,
                flush=True,
            )


def _problem_lines(problems: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {'.'.join(str(p) for p in problem['loc']) or '(document)'}: {problem['msg']}"
        for problem in problems
    )


async def _execute(
    doc: Any,
    input_value: Any,
    variables: dict[str, Any],
    secrets: dict[str, str],
    flows: dict[str, Any],
    flow_name: str,
    connections: dict[str, Connection] | None = None,
) -> dict[str, Any]:
    report = validate_definition(doc)
    if not report.valid:
        raise UsageError("the flow definition is invalid:\n" + _problem_lines(report.errors))
    plan = FlowPlan(report.raise_for_errors(), default_registry())
    problems = check_input(plan.start_config, input_value)
    if problems:
        raise UsageError(
            "the input does not match the start node's schema:\n" + _problem_lines(problems)
        )
    services = EngineServices()
    code_runner = await _start_code_runner(plan)
    services.code_runner = code_runner
    recorder = ExecutionRecorder()
    logs = _StderrLogs()
    if flows:
        services.subflow_launcher = LocalSubflowLauncher(
            flows,
            services=services,
            variables=variables,
            secrets=secrets,
            sink=logs,
            connections=connections,
        )
    execution = ExecutionInfo(execution_id=str(uuid.uuid4()), attempt=1, flow_id=flow_name)
    executor = Executor(
        plan,
        services=services,
        sink=MultiSink(recorder, logs),
        execution=execution,
        variables=variables,
        secrets=secrets,
        connections=connections,
    )
    try:
        await executor.run(input_value)
    except Exception as exc:
        # A bug the engine did not turn into a node error: the execution failed, say why.
        recorder.status = ExecutionStatus.FAILED
        recorder.error = _internal_error(exc)
        recorder.finished_at = time.time()
    finally:
        await services.aclose()
        if code_runner is not None:
            await code_runner.aclose()
    return _execution_document(execution.execution_id, flow_name, recorder.document())


def _internal_error(exc: BaseException) -> dict[str, Any]:
    try:
        message = f"{type(exc).__name__}: {exc}"
    except Exception:
        message = type(exc).__name__
    return {"node_id": None, "type": "internal", "message": message, "attempt": 1}


def _failed_document(flow_name: str, input_value: Any, exc: BaseException) -> dict[str, Any]:
    """The execution of a flow that could not even start running."""
    now = format_timestamp(time.time())
    document = {
        "status": ExecutionStatus.FAILED,
        "input": input_value,
        "output": None,
        "error": _internal_error(exc),
        "started_at": now,
        "finished_at": now,
        "steps": [],
        "logs": [],
    }
    return _execution_document(str(uuid.uuid4()), flow_name, document)


def _execution_document(
    execution_id: str, flow_name: str, document: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": execution_id,
        "flow_id": flow_name,
        "revision": None,
        "status": document["status"],
        "status_detail": None,
        "input": document["input"],
        "output": document["output"],
        "error": document["error"],
        "trigger": {"type": "manual"},
        "retry_of": None,
        "runner_id": None,
        "attempt": 1,
        "queued_at": document["started_at"],
        "started_at": document["started_at"],
        "finished_at": document["finished_at"],
        "steps": document["steps"],
        "logs": document["logs"],
    }


def _json_text(document: dict[str, Any]) -> str:
    """The document as JSON; what cannot be written (too deep, not JSON) is shown as a note."""
    try:
        text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False)
        text.encode()  # a lone surrogate cannot be written to stdout: UnicodeEncodeError
        return text
    except (TypeError, ValueError, RecursionError):
        return json.dumps(json_safe(document), ensure_ascii=False, indent=2)


@app.command("run")
def run(
    flow: Path = typer.Argument(..., help="The flow definition (JSON file).", show_default=False),
    input_json: str | None = typer.Option(
        None, "--input", help="The execution's input as JSON (default {})."
    ),
    vars_file: Path | None = typer.Option(
        None,
        "--vars",
        help="JSON object of variables (also FLOMATION_VAR_<NAME>, read as JSON when it parses).",
    ),
    secrets_file: Path | None = typer.Option(
        None,
        "--secrets",
        help="JSON object of secrets (also FLOMATION_SECRET_<NAME>); its `connections` object "
        'holds connections as {"NAME": {"type", "values"}} (also FLOMATION_CONNECTION_<NAME>).',
    ),
    flows_dir: Path | None = typer.Option(
        None, "--flows-dir", help="Directory of <flow_id>.json files that subflow nodes may run."
    ),
) -> None:
    """Run a flow definition locally and print the execution as JSON."""
    try:
        doc = _read_json(flow, "flow file")
        input_value = _parse_input(input_json)
        variables = {
            **_from_environment(VAR_PREFIX, parse_json=True),
            **_mapping_file(vars_file, "vars file"),
        }
        secrets_document = _mapping_file(secrets_file, "secrets file")
        section = secrets_document.get(FILE_KEY)
        if isinstance(section, dict):
            del secrets_document[FILE_KEY]
        else:
            section = None
        secrets = {
            **_from_environment(SECRET_PREFIX, parse_json=False),
            **{k: str(v) for k, v in secrets_document.items()},
        }
        connections = _connections(section, secrets_file)
        flows = _flows_from_dir(flows_dir)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    try:
        document = asyncio.run(
            _execute(doc, input_value, variables, secrets, flows, flow.stem, connections)
        )
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(2) from None
    except Exception as exc:
        document = _failed_document(flow.stem, input_value, exc)
    sys.stdout.write(_json_text(document) + "\n")
    if document["status"] != ExecutionStatus.SUCCEEDED:
        error = document["error"] or {}
        where = f" at node {error['node_id']!r}" if error.get("node_id") else ""
        print(
            f"execution {document['status']}{where}: "
            f"{error.get('type', '')}: {error.get('message', '')}",
            file=sys.stderr,
        )
        raise typer.Exit(1)
