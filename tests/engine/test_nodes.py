"""Built-in node types one by one, the registry and the node-type listing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from flomation.engine.local import LocalSubflowLauncher
from flomation.engine.nodes.base import EngineServices, ExecutionInfo, NodeType
from flomation.engine.nodes.flow import check_input
from flomation.engine.nodes.registry import BUILTIN_TYPES, NodeRegistry, list_node_types
from flomation.engine.nodes.subflow import MAX_SUBFLOW_DEPTH
from tests.engine.flows import ECHO, edge, flow, node, ret, run, set_node


def single(node_def: dict[str, Any], *, returns: str = "{{ nodes.n.output }}") -> dict[str, Any]:
    return flow(
        [node("start", "start"), node_def, ret("r", returns)],
        [edge("start", "n"), edge("n", "r")],
    )


async def test_start_outputs_the_input() -> None:
    doc = flow([node("start", "start"), ret("r", "{{ nodes.start.output }}")], [edge("start", "r")])
    assert (await run(doc, {"a": [1]})).output == {"a": [1]}


def test_check_input_against_the_start_schema() -> None:
    config = {
        "input_schema": {
            "type": "object",
            "required": ["n"],
            "properties": {"n": {"type": "integer"}},
        }
    }
    assert check_input(config, {"n": 1}) == []
    assert check_input(config, {"n": "x"}) == [
        {"loc": ["input", "n"], "msg": "'x' is not of type 'integer'"}
    ]
    assert check_input(config, {})[0]["msg"] == "'n' is a required property"
    assert check_input({}, "anything") == []


def test_an_invalid_input_schema_is_a_validation_error() -> None:
    from flomation.engine.validation import validate_definition

    doc = flow([node("start", "start", config={"input_schema": {"type": "nope"}})], [])
    (problem,) = validate_definition(doc).errors
    assert problem["field"] == "input_schema"


async def test_set_evaluates_nested_values() -> None:
    doc = single(set_node("n", a={"b": ["{{ input.x }}", "lit"]}, c="{{ input.x + 1 }}"))
    assert (await run(doc, {"x": 1})).output == {"a": {"b": [1, "lit"]}, "c": 2}


def condition(expression: str) -> dict[str, Any]:
    return flow(
        [
            node("start", "start"),
            node("n", "condition", config={"expression": expression}),
            ret("yes", "{{ nodes.n.output }}"),
            ret("no", "{{ nodes.n.output }}"),
        ],
        [edge("start", "n"), edge("n", "yes", "true"), edge("n", "no", "false")],
    )


@pytest.mark.parametrize(
    ("expression", "port"),
    [
        ("{{ input.x > 1 }}", "true"),
        ("{{ input.x > 5 }}", "false"),
        ("true", "true"),
        ("{{ input.s }}", "false"),
    ],
)
async def test_condition_chooses_a_port(expression: str, port: str) -> None:
    doc = condition(expression)
    result = await run(doc, {"x": 2, "s": ""})
    assert result.output == {"result": port == "true"}
    assert result.steps("n")[0]["port"] == port


async def test_condition_refuses_arbitrary_text() -> None:
    doc = condition("maybe")
    error = (await run(doc)).result.error
    assert error is not None
    assert error["type"] == "config"


@pytest.mark.parametrize(
    ("value", "port"), [("a", "a"), ("b", "b"), ("zzz", "default"), (1, "1"), (True, "true")]
)
async def test_switch_routes_by_case(value: Any, port: str) -> None:
    cases = ["a", "b", "1", "true"]
    nodes = [
        node("start", "start"),
        node("s", "switch", config={"value": "{{ input.v }}", "cases": cases}),
    ]
    edges = [edge("start", "s")]
    for case in [*cases, "default"]:
        nodes.append(set_node(f"to_{case}", port=case))
        edges.append(edge("s", f"to_{case}", case))
    result = await run(flow(nodes, edges), {"v": value})
    assert result.steps("s")[0]["output"] == {"value": value}
    ran = [n for n in [*cases, "default"] if result.ran(f"to_{n}")]
    assert ran == [port]


async def test_delay_waits() -> None:
    doc = single(node("n", "delay", config={"seconds": 0.05}))
    started = time.monotonic()
    result = await run(doc)
    assert result.output == {}
    assert time.monotonic() - started >= 0.05


async def test_subflow_without_a_server_fails_clearly() -> None:
    doc = single(node("n", "subflow", config={"flow": "child", "input": {}}))
    error = (await run(doc)).result.error
    assert error is not None
    assert error["type"] == "subflow"
    assert "need a Flomation server" in error["message"]


async def test_subflow_runs_a_child_through_a_local_launcher() -> None:
    launcher = LocalSubflowLauncher({"child": ECHO})
    doc = single(node("n", "subflow", config={"flow": "child", "input": {"n": "{{ input.k }}"}}))
    result = await run(doc, {"k": 5}, services=EngineServices(subflow_launcher=launcher))
    assert result.output == {"m": 10, "tag": "ok"}


async def test_a_failing_child_fails_the_subflow_node() -> None:
    child = flow(
        [node("start", "start"), node("f", "fail", config={"message": "child broke"})],
        [edge("start", "f")],
    )
    launcher = LocalSubflowLauncher({"child": child})
    doc = single(node("n", "subflow", config={"flow": "child"}))
    error = (await run(doc, services=EngineServices(subflow_launcher=launcher))).result.error
    assert error is not None
    assert error["type"] == "subflow"
    assert "child broke" in error["message"]


async def test_subflow_nesting_is_limited() -> None:
    doc = single(node("n", "subflow", config={"flow": "self"}))
    launcher = LocalSubflowLauncher({"self": doc})
    result = await run(doc, services=EngineServices(subflow_launcher=launcher))
    assert result.result.error is not None
    assert f"deeper than {MAX_SUBFLOW_DEPTH}" in result.result.error["message"]
    deep = await run(
        doc,
        services=EngineServices(subflow_launcher=launcher),
        execution=ExecutionInfo(depth=MAX_SUBFLOW_DEPTH),
    )
    assert deep.steps("n")[0]["error"]["type"] == "subflow"


def test_node_types_list_every_built_in_with_its_description() -> None:
    items = {item["type"]: item for item in list_node_types()}
    expected = {
        "start",
        "set",
        "condition",
        "switch",
        "foreach",
        "merge",
        "delay",
        "fail",
        "return",
        "log",
        "subflow",
        "on_error",
    }
    assert expected <= set(items)
    for item in items.values():
        assert set(item) == {
            "type",
            "title",
            "description",
            "icon",
            "group",
            "ports",
            "config_schema",
            "output_schema",
            "connection_types",
            "docs_url",
        }
        assert item["title"]
        assert item["icon"]
        jsonschema.Draft202012Validator.check_schema(item["config_schema"])
    assert items["condition"]["ports"] == ["true", "false", "error"]
    assert items["foreach"]["ports"] == ["each", "done", "error"]
    assert items["return"]["ports"] == []


def test_every_built_in_config_field_has_a_title_and_every_type_a_docs_page() -> None:
    # The editor's forms show these; integration modules' titles are checked by the editor's
    # own fallback (a humanised name), the core types' here.
    core = {"start", "set", "condition", "switch", "foreach", "merge", "delay", "fail"}
    core |= {"return", "log", "subflow", "on_error", "http", "python", "shell"}
    root = Path(__file__).resolve().parents[2]
    for item in list_node_types():
        url = item["docs_url"]
        assert isinstance(url, str), item["type"]
        assert (root / url.split("#")[0]).is_file(), url
        if item["type"] in core:
            for name, schema in item["config_schema"].get("properties", {}).items():
                assert schema.get("title"), f"{item['type']}.{name} has no title"
    by_type = {item["type"]: item for item in list_node_types()}
    assert by_type["http"]["docs_url"] == "docs/integrations/http.md"
    assert by_type["postgres.query"]["docs_url"] == "docs/integrations/postgres.md"
    assert by_type["condition"]["docs_url"] == "docs/flow-format.md#built-in-node-types"


class _PluginType(NodeType):
    type = "plugin.thing"
    title = "A plugin's type"


class _DocumentedPluginType(_PluginType):
    docs_url = "https://example.test/thing"


def test_a_plugin_type_has_the_docs_url_it_sets_and_none_otherwise() -> None:
    assert _PluginType().describe()["docs_url"] is None
    assert _DocumentedPluginType().describe()["docs_url"] == "https://example.test/thing"


@pytest.mark.parametrize("module", ["http", "python", "shell"])
def test_process_node_types_are_listed(module: str) -> None:
    assert module in {item["type"] for item in list_node_types()}


@pytest.mark.parametrize("module", ["http", "python", "shell", "data"])
def test_a_node_module_that_does_not_import_fails_the_registry(module: str) -> None:
    # A None entry in sys.modules makes importing that module raise ImportError, as a renamed
    # or broken module would: the registry must not come up without that node type.
    code = (
        "import sys\n"
        f"sys.modules['flomation.engine.nodes.{module}'] = None\n"
        "import flomation.engine.nodes.registry\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    # ModuleNotFoundError, the very error a skip for modules "not written yet" would swallow.
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ModuleNotFoundError"), done.stderr
    assert f"flomation.engine.nodes.{module}" in last_line


def test_registry_refuses_duplicates() -> None:
    registry = NodeRegistry(BUILTIN_TYPES)
    with pytest.raises(ValueError, match="already registered"):
        registry.add(BUILTIN_TYPES[0])


async def test_a_local_launcher_names_a_flow_it_does_not_have() -> None:
    launcher = LocalSubflowLauncher({})
    doc = single(node("n", "subflow", config={"flow": "ghost"}))
    error = (await run(doc, services=EngineServices(subflow_launcher=launcher))).result.error
    assert error is not None
    assert error["type"] == "subflow"
    assert "no flow 'ghost'" in error["message"]


async def test_log_levels_are_checked_after_templates() -> None:
    doc = single(node("n", "log", config={"message": "m", "level": "{{ input.level }}"}))
    error = (await run(doc, {"level": "loud"})).result.error
    assert error is not None
    assert error["type"] == "config"
    assert "level" in error["message"]
