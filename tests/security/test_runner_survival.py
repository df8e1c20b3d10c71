"""Issue 25, finding 1: no flow can kill a runner.

A real `flomation runner` process against the real API. Flows whose values cannot become JSON
(an undefined inside a list, a lone surrogate from code) or whose end is over the API's body
limit each fail with a clear error, while the same runner finishes the executions started
before and after them, and stays alive. Before the fix, the first of them made the runner's
reporter fail (`Object of type FlowUndefined is not JSON serializable`) and the runner stop
claiming work; after a restart the same execution killed it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flomation.config import Settings
from tests.conftest import SHORT_LEASES, make_settings
from tests.live import LiveServer
from tests.runner.processes import (
    Api,
    Recorder,
    quick_flow,
    record_flow,
    runner_processes,
    wait_for,
)

# The API refuses bodies over this: an execution's end above it can never be delivered.
BODY_LIMIT = 300_000


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path / "data",
        **SHORT_LEASES,
        runner_offline_after_seconds=10.0,
        max_body_bytes=BODY_LIMIT,
    )


def set_flow(template: str) -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "s", "type": "set", "config": {"values": {"v": template}}},
        ],
        "edges": [{"from": "start", "to": "s"}],
    }


def python_flow(code: str, *, returned: bool = False) -> dict[str, Any]:
    """A python node; with `returned`, its output is also the execution's output."""
    nodes: list[dict[str, Any]] = [
        {"id": "start", "type": "start"},
        {"id": "py", "type": "python", "config": {"code": code}},
    ]
    edges = [{"from": "start", "to": "py"}]
    if returned:
        nodes.append({"id": "out", "type": "return", "config": {"value": "{{ nodes.py.output }}"}})
        edges.append({"from": "py", "to": "out"})
    return {"version": 1, "nodes": nodes, "edges": edges}


# name: (definition, node the error names or None for the execution, words of the message)
POISON: dict[str, tuple[dict[str, Any], str | None, str]] = {
    "undefined-in-a-list": (set_flow("{{ [input.nope] }}"), "s", "undefined"),
    "map-of-a-missing-attribute": (
        set_flow("{{ input.items|map(attribute='missing')|list }}"),
        "s",
        "undefined",
    ),
    # Not through the template engine: code gives a string that is not valid Unicode.
    "lone-surrogate-from-code": (
        python_flow("def main(ctx):\n    return {'v': chr(0xD800)}\n"),
        "py",
        "lone surrogate",
    ),
    # An end larger than the API accepts.
    "output-over-the-body-limit": (
        python_flow(f"def main(ctx):\n    return 'x' * {BODY_LIMIT + 100_000}\n", returned=True),
        None,
        "too large",
    ),
}


async def test_flows_that_cannot_be_reported_fail_alone_and_the_runner_goes_on(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    slow = await user.flow(record_flow(recorder.url, delay_s=2))
    quick = await user.flow(quick_flow(recorder.url))
    poison_flows = {name: await user.flow(definition) for name, (definition, *_) in POISON.items()}
    async with runner_processes(api.base_url, await user.token(), tmp_path) as [runner]:
        before = await user.run(slow, {"n": 1})
        await wait_for(lambda: user.step_started(before, "wait"), 20, "the slow execution")
        poisoned = {
            name: await user.run(flow_id, {"items": [{"a": 1}]})
            for name, flow_id in poison_flows.items()
        }
        ended = {name: await user.ended(execution_id) for name, execution_id in poisoned.items()}
        after = await user.run(quick, {"n": 2})
        done_after = await user.ended(after)
        done_before = await user.ended(before)
        # Still there, still claiming: exits 0 on SIGTERM like any healthy runner.
        assert runner.process.returncode is None, runner.logs()[-3000:]
        assert await runner.stop() == 0, runner.logs()[-3000:]
    logs = runner.logs()
    assert "side task failed" not in logs
    assert "is not JSON serializable" not in logs
    for name, execution in ended.items():
        _, node_id, words = POISON[name]
        assert execution["status"] == "failed", (name, execution)
        assert execution["error"]["node_id"] == node_id, (name, execution["error"])
        assert words in execution["error"]["message"], (name, execution["error"])
        assert execution["attempt"] == 1, name  # failed once, not retried as a lost runner's
    assert done_before["status"] == "succeeded", done_before
    assert done_after["status"] == "succeeded", done_after
    assert recorder.calls[before] == 1
    assert recorder.calls[after] == 1
