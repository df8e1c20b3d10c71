"""The `csv.parse` and `csv.build` nodes, directly and through the engine (a flow that builds
CSV from rows and parses it back)."""

from __future__ import annotations

from typing import Any

import pytest

from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import ConfigError
from flomation.engine.nodes.registry import default_registry
from flomation.integrations.csv import build_csv, parse_csv
from tests.integrations.db_fixtures import run_in_flow, run_node

pytestmark = pytest.mark.timeout(30)


async def parse(text: str, **config: Any) -> Any:
    return (await run_node("csv.parse", {"text": text, **config})).output


async def build(rows: Any, **config: Any) -> Any:
    return (await run_node("csv.build", {"rows": rows, **config})).output


def test_the_node_types_are_registered_pure_and_without_a_connection() -> None:
    for name in ("csv.parse", "csv.build"):
        node_type = default_registry().get(name)
        assert node_type is not None
        assert node_type.pure
        assert node_type.connection_types == ()
        assert node_type.group == "csv"


async def test_parse_with_a_header_gives_objects() -> None:
    text = '\ufeffid,name,note\r\n1,Ada,"says ""hi"", twice"\r\n2,"Bob\nSmith",\r\n\r\n3,Cy\r\n'
    assert await parse(text) == {
        "rows": [
            {"id": "1", "name": "Ada", "note": 'says "hi", twice'},
            {"id": "2", "name": "Bob\nSmith", "note": ""},
            {"id": "3", "name": "Cy", "note": None},
        ]
    }


async def test_parse_without_a_header_gives_lists_and_keeps_text() -> None:
    assert await parse("007;1e3;x\n;;\n", delimiter=";", header=False) == {
        "rows": [["007", "1e3", "x"], ["", "", ""]]
    }
    assert await parse("a\tb\n1\t2\n", delimiter="\t") == {"rows": [{"a": "1", "b": "2"}]}
    assert await parse("") == {"rows": []}
    assert await parse("a,b\n") == {"rows": []}


async def test_parse_names_the_line_of_a_bad_row() -> None:
    with pytest.raises(ConfigError) as long_row:
        await parse("a,b\n1,2\n1,2,3\n")
    assert long_row.value.message == "line 3 has 3 fields but the header names 2"
    assert long_row.value.field == "text"
    with pytest.raises(ConfigError) as quoted:
        await parse('a,b\n1,"unclosed\n')
    assert quoted.value.message.startswith("the CSV text is malformed at line")
    with pytest.raises(ConfigError) as twice:
        await parse("a,a\n1,2\n")
    assert "names 'a' twice" in twice.value.message


async def test_build_with_a_header_from_objects() -> None:
    rows = [
        {"id": 1, "name": "Ada", "tags": ["x", "y"]},
        {"id": 2, "name": 'Bob "B", Jr.', "extra": None, "ok": True},
    ]
    assert await build(rows) == {
        "text": 'id,name,tags,extra,ok\n1,Ada,"[""x"", ""y""]",,\n2,"Bob ""B"", Jr.",,,true\n'
    }
    assert await build([]) == {"text": ""}


async def test_build_without_a_header_from_lists() -> None:
    assert await build([[1, "a;b", None], ["line\nbreak"]], delimiter=";", header=False) == {
        "text": '1;"a;b";\n"line\nbreak"\n'
    }


async def test_build_refuses_rows_of_the_wrong_shape() -> None:
    with pytest.raises(ConfigError) as objects:
        await build([{"a": 1}, [1]])
    assert objects.value.message.startswith("rows[1] is not an object")
    with pytest.raises(ConfigError) as lists:
        await build([{"a": 1}], header=False)
    assert lists.value.message.startswith("rows[0] is not a list")
    with pytest.raises(ConfigError) as not_rows:
        await build("a,b")
    assert not_rows.value.field == "rows"


def test_a_quote_or_a_line_break_is_no_delimiter() -> None:
    for name in ("csv.parse", "csv.build"):
        node_type = default_registry().get(name)
        assert node_type is not None
        assert node_type.check_config({"delimiter": '"'}) == [
            ("delimiter", "delimiter cannot be a double quote or a line break")
        ]
        assert node_type.check_config({"delimiter": "|"}) == []


def test_build_then_parse_gives_the_rows_back() -> None:
    rows = [{"a": "1", "b": 'q"uote'}, {"a": "x,y", "b": "multi\nline"}]
    assert parse_csv(build_csv(rows)) == rows
    lists = [["1", "2"], ["", "ü"]]
    assert parse_csv(build_csv(lists, "|", header=False), "|", header=False) == lists


async def test_a_flow_builds_csv_from_rows_and_parses_it_back() -> None:
    doc = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "build", "type": "csv.build", "config": {"rows": "{{ input.people }}"}},
            {
                "id": "parse",
                "type": "csv.parse",
                "config": {"text": "{{ nodes.build.output.text }}", "delimiter": ","},
            },
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.parse.output.rows }}"}},
        ],
        "edges": [
            {"from": "start", "to": "build"},
            {"from": "build", "to": "parse"},
            {"from": "parse", "to": "out"},
        ],
    }
    people = [{"name": "Ada", "age": 36}, {"name": "Linus", "age": 28}]
    document = await run_flow(doc, {"people": people})
    assert document["status"] == "succeeded"
    assert document["output"] == [{"name": "Ada", "age": "36"}, {"name": "Linus", "age": "28"}]
    steps = {step["node_id"]: step for step in document["steps"]}
    assert steps["build"]["output"] == {"text": "name,age\nAda,36\nLinus,28\n"}


async def test_a_flow_fails_bad_csv_with_a_config_error() -> None:
    ran = await run_in_flow("csv.parse", {"text": "{{ input.csv }}"}, input={"csv": "a\n1,2\n"})
    assert ran.document["status"] == "failed"
    assert ran.step["error"]["type"] == "config"
    assert ran.step["error"]["message"] == "line 2 has 2 fields but the header names 1"
