"""Templates: JSON types, undefined semantics, mapping keys first, limits and the sandbox."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from flomation.engine.expressions import (
    compile_template,
    parse_template,
    scope_globals,
    template_references,
)
from flomation.engine.masking import Masker
from flomation.engine.nodes.base import TemplateError
from tests.engine.flows import edge, flow, node, ret, run, set_node


def render(source: str, **scope: Any) -> Any:
    return compile_template(source).render({**scope_globals(), **scope})


def fails(source: str, **scope: Any) -> str:
    with pytest.raises(TemplateError) as info:
        render(source, **scope)
    assert info.value.type == "template"
    return info.value.message


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("{{ input.n * 2 }}", 42),
        ("{{ input.n > 10 }}", True),
        ("{{ input.xs }}", [1, 2]),
        ("{{ input }}", {"n": 21, "xs": [1, 2], "s": "[1, 2]"}),
        ("{{ none }}", None),
        ("{{ 3 }}", 3),
        ("{{ (1, 2) }}", [1, 2]),
        ("{{ input.xs | map('string') }}", ["1", "2"]),
    ],
)
def test_single_expression_keeps_its_json_type(source: str, value: Any) -> None:
    assert render(source, input={"n": 21, "xs": [1, 2], "s": "[1, 2]"}) == value


def test_a_string_value_is_never_reparsed() -> None:
    assert render("{{ input.s }}", input={"s": "[1, 2]"}) == "[1, 2]"
    assert render("{{ input.s }}", input={"s": "42"}) == "42"


def test_mixed_text_renders_json_spellings() -> None:
    assert render(
        "n={{ n }} ok={{ ok }} o={{ o }} z={{ z }}", n=1, ok=True, o={"a": [1]}, z=None
    ) == ('n=1 ok=true o={"a": [1]} z=null')


def test_mapping_key_wins_over_method() -> None:
    assert render("{{ body.items }}", body={"items": [1, 2]}) == [1, 2]
    assert render("{{ body.keys }}", body={"keys": "k"}) == "k"


def test_a_method_is_not_a_json_value() -> None:
    assert "does not give JSON: a builtin_function_or_method" in fails("{{ body.items }}", body={})


class TestUndefined:
    def test_is_falsy_and_testable(self) -> None:
        assert render("{{ nodes.x is defined }}", nodes={}) is False
        assert render("{{ 'yes' if nodes.x else 'no' }}", nodes={}) == "no"
        assert render("{{ nodes.x or 5 }}", nodes={}) == 5
        assert render("{{ nodes.x.output.y | default(7) }}", nodes={}) == 7
        assert render("{% if nodes.x %}a{% else %}b{% endif %}", nodes={}) == "b"

    def test_attribute_of_undefined_is_undefined(self) -> None:
        assert render("{{ nodes.x.output.deep.er is undefined }}", nodes={}) is True

    @pytest.mark.parametrize(
        "source",
        [
            "{{ nodes.x }}",
            "a{{ nodes.x }}",
            "{% for i in nodes.x %}{% endfor %}",
            "{{ nodes.x == 1 }}",
            "{{ nodes.x < 1 }}",
            "{{ nodes.x + 1 }}",
            "{{ nodes.x * 2 }}",
            "{{ nodes.x | length }}",
            "{{ 1 in nodes.x }}",
            "{{ nodes.x ~ 'a' }}",
            "{{ nodes.x() }}",
        ],
    )
    def test_using_it_fails(self, source: str) -> None:
        assert "x" in fails(source, nodes={})


class TestLimits:
    @pytest.mark.parametrize(
        "source",
        [
            "{{ 'x' * 10**9 }}",
            "{{ [1] * 10**9 }}",
            "{{ 2 ** 10000000 }}",
            "{{ ('x' * 900000) + ('y' * 900000) }}",
            "{{ 'x' | center(10**9) }}",
            "{{ 'x'.ljust(10**9) }}",
            "{{ 'x'.zfill(10**9) }}",
            "{{ ('x' * 1000) | replace('x', 'y' * 10000) }}",
            "{{ ('x' * 1000).replace('x', 'y' * 10000) }}",
            "{{ range(100000) | map('string') | join('x' * 100000) }}",
            "{{ ('x' * 1000).join(range(100000) | map('string')) }}",
            "{{ '{:>1000000000}'.format(1) }}",
            "{{ '%1000000000d' % 1 }}",
            "{{ '%*d' | format(1000000000, 1) }}",
            "{{ 'abc' | indent(10**9) }}",
            "{{ 'a b' | wordwrap(1, wrapstring='x' * 10**6) }}",
            "{{ [[1] * 900000, [2] * 900000] | sum(start=[]) }}",
            "{{ [1, 2] | slice(10**9) | list }}",
            "{{ {'a': 1} | tojson(indent=10**9) }}",
            "{{ 'abc'.translate({97: 'x' * 10**6}) }}",
            "{{ ('\t' * 1000).expandtabs(10**6) }}",
            "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
            "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
        ],
    )
    def test_growing_values_fail_before_they_are_built(self, source: str) -> None:
        started = time.monotonic()
        message = fails(source)
        assert "limit" in message or "not allowed" in message or "not available" in message
        assert time.monotonic() - started < 5  # a hang would hit the pytest timeout instead

    def test_nested_loops_end_at_the_time_limit(self) -> None:
        message = fails(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
        )
        assert "longer than its limit" in message

    def test_infinite_recursion_ends(self) -> None:
        assert "recursion" in fails("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")

    def test_range_is_bounded(self) -> None:
        assert "range" in fails("{{ range(10**9) | list }}").lower()


class TestSandbox:
    @pytest.mark.parametrize(
        "source",
        [
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ ''.__class__ }}",
            "{{ x.__class__.__base__.__subclasses__() }}",
            "{{ cycler.__init__.__globals__.os }}",
            "{{ joiner.__init__.__globals__ }}",
            "{{ namespace.__init__.__globals__ }}",
            "{{ lipsum.__globals__ }}",
            "{{ range.__globals__ }}",
            "{{ dict.__init__.__globals__ }}",
            "{{ '{0.__class__.__mro__}'.format(x) }}",
            "{{ '{a.__class__}'.format_map({'a': x}) }}",
            "{{ '{0.__globals__}'.format(cycler.next) }}",
            "{{ '' | attr('__class__') }}",
            "{{ x | attr('__class__') | attr('__mro__') }}",
            "{{ x['__class__'] }}",
            "{{ self.__init__.__globals__ }}",
            "{{ cycler.next.__func__.__globals__ }}",
            "{{ x.__reduce_ex__(2) }}",
        ],
    )
    def test_escape_attempts_fail_with_a_template_error(self, source: str) -> None:
        message = fails(source, x=[1])
        assert "unsafe" in message or "undefined" in message or "has no attribute" in message

    def test_immutable_builtins(self) -> None:
        assert "unsafe" in fails("{{ xs.append(3) }}", xs=[1])
        assert "unsafe" in fails("{{ d.update({'a': 1}) }}", d={})


def test_syntax_errors_name_the_line() -> None:
    message = fails("line one\n{{ x.y }")
    assert "does not parse" in message
    assert "line 2" in message


class TestReferences:
    def test_literal_var_and_secret_names_are_found(self) -> None:
        refs = template_references(
            parse_template("{{ vars.region }} {{ secrets['API_KEY'] }} {{ nodes.a.output }}")
        )
        assert refs.vars == {"region"}
        assert refs.secrets == {"API_KEY"}
        assert refs.nodes == {"a"}
        assert refs.problems == []

    @pytest.mark.parametrize(
        "source",
        [
            "{{ vars[name] }}",
            "{{ secrets[input.which] }}",
            "{% for k in secrets %}{{ k }}{% endfor %}",
            "{{ vars | list }}",
            "{% set s = secrets %}{{ s.X }}",
            "{{ secrets['a' ~ 'b'] }}",
        ],
    )
    def test_computed_names_are_problems(self, source: str) -> None:
        assert template_references(parse_template(source)).problems


# --------------------------------------------------------------------------- plain JSON values


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("{{ [input.nope] }}", "undefined value at [0] ('dict object' has no attribute 'nope')"),
        ("{{ input.xs|map(attribute='missing')|list }}", "undefined value at [0]"),
        ("{{ input.xs|map(attribute='missing') }}", "undefined value at [0]"),
        ("{{ {'a': [1, input.nope]} }}", "undefined value at .a[1]"),
        ("{{ {'a': input.nope} }}", "undefined value at .a"),
        ("x {{ [input.nope] }}", "undefined value at [0]"),
        ("{{ input.s.encode() }}", "bytes (decode them to text, or use .hex())"),
        ("{{ [input.nan|float] }}", "nan at [0] (JSON numbers are finite)"),
        ("{{ input.big * 10 }}", "inf (JSON numbers are finite)"),
        ("{{ {'k': {1: 'a'}} }}", "the mapping key 1 at .k (JSON keys are strings)"),
        ("{{ [namespace(a=1)] }}", "a Namespace at [0]"),
        ("{{ cycler(1) }}", "a Cycler"),
    ],
)
def test_a_value_json_cannot_hold_is_a_template_error_naming_the_template(
    source: str, what: str
) -> None:
    message = fails(source, input={"xs": [{"a": 1}], "s": "text", "nan": "nan", "big": 1e308})
    assert message.startswith(f"{source!r} does not give JSON: {what}")


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("{{ (1, (2, 3)) }}", [1, [2, 3]]),
        ("{{ [input.xs|map('string')] }}", [["1", "2"]]),
        ("{{ {'a': range(2)} }}", {"a": [0, 1]}),
        ("{{ input.o.keys() }}", ["k"]),
        ("{{ input.o.items() }}", [["k", 1]]),
        ("{{ input.xs|slice(2)|list }}", [[1], [2]]),
        ("{{ input.xs|batch(1)|list }}", [[1], [2]]),
        ("{{ 'a%s'|e ~ 'b' }}", "a%sb"),
    ],
)
def test_sequences_mappings_and_markup_become_plain_json(source: str, value: Any) -> None:
    rendered = render(source, input={"xs": [1, 2], "o": {"k": 1}})
    assert rendered == value
    assert json.loads(json.dumps(rendered)) == value  # plain lists, dicts and strs all through


def test_a_plain_value_from_the_scope_is_passed_on_as_it_is() -> None:
    body = {"rows": [{"id": i, "tags": ["a", "b"], "ok": True, "x": 1.5} for i in range(100)]}
    assert render("{{ input }}", input=body) is body


# --------------------------------------------------------------------------- taint

SECRET = "Sup3r-Secret_v4lue"


def render_with_secret(source: str, **scope: Any) -> tuple[Any, Masker]:
    masker = Masker([SECRET])
    value = render(source, secrets=masker.tainted({"T": SECRET}), **scope)
    return value, masker


@pytest.mark.parametrize(
    ("source", "real"),
    [
        ("{{ secrets.T|reverse }}", SECRET[::-1]),
        ("{{ secrets.T|upper }}", SECRET.upper()),
        ("{{ secrets.T|lower }}", SECRET.lower()),
        ("{{ secrets.T|title }}", "Sup3r-Secret_v4lue"),  # Jinja's title, not str.title
        ("{{ secrets.T|capitalize }}", SECRET.capitalize()),
        ("{{ secrets.T|replace('S', 'Z') }}", SECRET.replace("S", "Z")),
        ("{{ secrets.T|trim('S') }}", SECRET.strip("S")),
        ("{{ secrets.T|truncate(12, leeway=0) }}", SECRET[:9] + "..."),
        ("{{ secrets.T|center(30) }}", SECRET.center(30)),
        ("{{ secrets.T|indent(2, true) }}", "  " + SECRET),
        ("{{ secrets.T|wordwrap(5) }}", "Sup3r\n-Secr\net_v4\nlue"),
        ("{{ secrets.T|urlencode }}", SECRET),
        ("{{ secrets.T|tojson }}", f'"{SECRET}"'),
        ("{{ secrets.T|string|e }}", SECRET),
        ("{{ (secrets.T|reverse)|safe|upper }}", SECRET[::-1].upper()),
        ("{{ secrets.T|attr('upper')() }}", SECRET.upper()),
        ("{{ [secrets.T|reverse, 'x']|sum(start='') }}", SECRET[::-1] + "x"),
        ("{{ secrets.T|join('.') }}", ".".join(SECRET)),
        ("{{ secrets.T|list|reverse|join }}", SECRET[::-1]),
        ("{{ secrets.T|list|sort|join }}", "-34_ceeelprrSStuuv"),  # sort ignores case
        ("{{ secrets.T|map('upper')|join }}", SECRET.upper()),
        ("{{ '%s!'|format(secrets.T) }}", SECRET + "!"),
        ("{{ '{}!'.format(secrets.T|reverse) }}", SECRET[::-1] + "!"),
        ("{{ '%s-%s' % (secrets.T, 1) }}", SECRET + "-1"),
        ("{{ secrets.T * 2 }}", SECRET * 2),
        ("{{ ('a' ~ secrets.T)|reverse }}", ("a" + SECRET)[::-1]),
        ("{{ 'a' + secrets.T|lower }}", "a" + SECRET.lower()),
        ("{{ secrets.T[1:] }}", SECRET[1:]),
        ("{{ secrets.T[::-1] }}", SECRET[::-1]),
        ("{{ secrets.T.swapcase() }}", SECRET.swapcase()),
        ("{{ secrets.T.zfill(30) }}", SECRET.zfill(30)),
        ("{{ secrets.T.encode().hex() }}", SECRET.encode().hex()),
        ("{{ secrets.T.encode()[2:].hex() }}", SECRET.encode()[2:].hex()),
        ("{{ ''.join(secrets.T|reverse) }}", SECRET[::-1]),
        (
            "{% macro m() %}{{ secrets.T|reverse }}{% endmacro %}{{ m()|upper }}",
            SECRET[::-1].upper(),
        ),
        ("{% set x %}{{ secrets.T }}{% endset %}{{ x|reverse }}", SECRET[::-1]),
        ("{% for c in secrets.T|reverse %}{{ c|upper }}{% endfor %}", SECRET[::-1].upper()),
    ],
)
def test_a_string_made_from_a_secret_is_the_real_value_and_is_masked(
    source: str, real: str
) -> None:
    value, masker = render_with_secret(source)
    assert value == real
    assert type(value) is str  # the node gets a plain string: the taint stays in templates
    assert masker.value({"v": value, "in": f"said {value} twice {value}"}) == {
        "v": "***",
        "in": "said *** twice ***",
    }


@pytest.mark.parametrize(
    ("source", "real"),
    [
        ("{{ secrets.T|list }}", list(SECRET)),
        ("{{ secrets.T|list|unique|list }}", list(dict.fromkeys(SECRET))),
        ("{{ secrets.T.split('-') }}", SECRET.split("-")),
        ("{{ secrets.T.partition('-') }}", list(SECRET.partition("-"))),
        ("{{ secrets.T|batch(4)|list }}", [list(SECRET[i : i + 4]) for i in range(0, 18, 4)]),
        ("{{ {'first': secrets.T|first, 'last': secrets.T|last} }}", {"first": "S", "last": "e"}),
    ],
)
def test_every_string_in_a_structure_made_from_a_secret_is_masked(source: str, real: Any) -> None:
    value, masker = render_with_secret(source)
    assert value == real

    def strings(item: Any) -> list[str]:
        if isinstance(item, str):
            return [item]
        if isinstance(item, dict):
            return [s for v in item.values() for s in strings(v)]
        return [s for v in item for s in strings(v)]

    assert set(strings(masker.value(value))) == {"***"}


def test_a_text_holding_a_short_piece_of_a_secret_is_masked_whole() -> None:
    value, masker = render_with_secret("id={{ secrets.T[:2] }};")
    assert value == "id=Su;"
    assert masker.text(value) == "***"


def test_a_secret_used_in_a_header_keeps_its_value_and_only_it_is_masked() -> None:
    value, masker = render_with_secret(
        "Bearer {{ secrets.T }} for {{ input.user }}", input={"user": "bob"}
    )
    assert value == f"Bearer {SECRET} for bob"
    assert masker.text(value) == "Bearer *** for bob"


def test_values_not_made_from_a_secret_are_not_masked() -> None:
    value, masker = render_with_secret(
        "{{ [input.word|upper, secrets.T|length, secrets.T == 'x', input.word|reverse] }}",
        input={"word": "hello"},
    )
    assert value == ["HELLO", len(SECRET), False, "olleh"]
    assert masker.value(value) == value


def test_a_transform_of_a_transform_made_in_an_earlier_node_is_followed() -> None:
    # One node made the reversed secret; a later node reads it from `nodes` and changes it.
    reversed_, masker = render_with_secret("{{ secrets.T|reverse }}")
    scope = {"secrets": masker.tainted({"T": SECRET}), "nodes": {"a": {"v": reversed_}}}
    upper = render("{{ nodes.a.v|reverse|lower }}", **scope)
    assert upper == SECRET.lower()
    assert masker.text(f"got {upper}") == "got ***"


def test_a_foreach_item_made_from_a_secret_is_followed() -> None:
    parts, masker = render_with_secret("{{ secrets.T.split('-') }}")
    scope = {"secrets": masker.tainted({"T": SECRET}), "item": parts[1]}
    changed = render("{{ item|reverse }}", **scope)
    assert changed == parts[1][::-1]
    assert masker.text(changed) == "***"


@pytest.mark.parametrize(
    ("source", "made"),
    [
        ("{{ [1][secrets.T|reverse] }}", SECRET[::-1]),
        ("{{ input[secrets.T|upper].x }}", SECRET.upper()),
        ("{{ input[secrets.T[2:]] ~ input.nope.x }}", SECRET[2:]),
    ],
)
def test_an_error_quoting_what_a_template_made_from_a_secret_is_masked(
    source: str, made: str
) -> None:
    masker = Masker([SECRET])
    with pytest.raises(TemplateError) as info:
        render(source, input={}, secrets=masker.tainted({"T": SECRET}))
    # Jinja quotes the missing key; the error masks it where it is made.
    assert made not in info.value.message
    assert "'***'" in info.value.message


def test_errors_call_a_tainted_string_a_str() -> None:
    masker = Masker([SECRET])
    with pytest.raises(TemplateError) as info:
        render("{{ range(secrets.T|upper) }}", secrets=masker.tainted({"T": SECRET}))
    assert info.value.message == "TypeError: 'str' object cannot be interpreted as an integer"


@pytest.mark.parametrize(
    "source",
    [
        "{{ secrets.T.__class__ }}",
        "{{ '{0.__class__.__mro__}'.format(secrets.T) }}",
        "{{ (secrets.T ~ '{0.__class__}').format(1) }}",
        "{{ secrets.T.upper.__globals__ }}",
    ],
)
def test_the_sandbox_holds_for_tainted_strings(source: str) -> None:
    masker = Masker([SECRET])
    with pytest.raises(TemplateError):
        render(source, secrets=masker.tainted({"T": SECRET}))


# --------------------------------------------------------------------------- in a flow


async def test_a_node_making_a_value_json_cannot_hold_fails_with_the_template_error() -> None:
    doc = flow(
        [
            node("start", "start"),
            set_node("typo", v="{{ [input.nope] }}"),
            ret("out", "{{ nodes.typo.output.v }}"),
        ],
        [edge("start", "typo"), edge("typo", "out")],
    )
    result = await run(doc, {"n": 1})
    assert result.status == "failed"
    error = result.result.error
    assert error is not None
    assert error["node_id"] == "typo"
    assert error["type"] == "template"
    assert "'{{ [input.nope] }}' does not give JSON: undefined value at [0]" in error["message"]
    assert result.ran("out") == 0
    json.dumps(result.document)  # nothing that is not JSON travelled on


async def test_a_flow_records_no_transform_of_a_secret_and_uses_the_real_values() -> None:
    transforms = {
        "reverse": "{{ secrets.T|reverse }}",
        "upper": "{{ secrets.T|upper }}",
        "list": "{{ secrets.T|list }}",
        "slice": "{{ secrets.T[1:] }}",
        "hex": "{{ secrets.T.encode().hex() }}",
        "text": "key={{ secrets.T|lower }}",
    }
    doc = flow(
        [
            node("start", "start"),
            set_node("made", **transforms),
            node("say", "log", config={"message": "{{ nodes.made.output.reverse|upper }}"}),
            ret("out", "{{ nodes.made.output }}"),
        ],
        [edge("start", "made"), edge("made", "say"), edge("say", "out")],
    )
    result = await run(doc, {}, secrets={"T": SECRET})
    assert result.status == "succeeded", result.result.error
    assert result.output["reverse"] == SECRET[::-1]  # values passed on are the real ones
    assert result.output["list"] == list(SECRET)
    recorded = json.dumps(result.document) + json.dumps([e.data for e in result.events])
    derived = [SECRET, SECRET[::-1], SECRET.upper(), SECRET[1:], SECRET.encode().hex()]
    derived += [SECRET.lower(), SECRET[::-1].upper(), json.dumps(list(SECRET))[1:-1]]
    assert [leak for leak in derived if leak in recorded] == []
    assert '"S"' not in recorded  # no single character of the list either


async def test_a_foreach_over_pieces_of_a_secret_records_none_of_them() -> None:
    doc = flow(
        [
            node("start", "start"),
            node("each", "foreach", config={"items": "{{ secrets.T.split('-') }}"}),
            set_node("piece", v="{{ item|reverse }}", w="<{{ item|upper }}>"),
            ret("out", "{{ nodes.each.output.results }}"),
        ],
        [
            edge("start", "each"),
            edge("each", "piece", "each"),
            edge("each", "out", "done"),
        ],
    )
    result = await run(doc, {}, secrets={"T": SECRET})
    assert result.status == "succeeded", result.result.error
    assert result.output[0] == {"v": "r3puS", "w": "<SUP3R>"}
    recorded = json.dumps(result.document) + json.dumps([e.data for e in result.events])
    leaks = [p for part in SECRET.split("-") for p in (part, part[::-1], part.upper())]
    assert [leak for leak in leaks if leak in recorded] == []


async def test_thousands_of_strings_made_from_a_secret_are_masked_without_stalling() -> None:
    # Each iteration makes a new string the masker must learn; compiling its pattern again
    # for every one would take minutes.
    doc = flow(
        [
            node("start", "start"),
            node("each", "foreach", config={"items": "{{ range(2000)|list }}"}),
            set_node("piece", v="{{ (secrets.T ~ item)|reverse }}"),
            ret("out", "{{ nodes.each.output.results|length }}"),
        ],
        [edge("start", "each"), edge("each", "piece", "each"), edge("each", "out", "done")],
    )
    started = time.monotonic()
    result = await run(doc, {}, secrets={"T": SECRET})
    assert time.monotonic() - started < 10
    assert result.status == "succeeded", result.result.error
    outputs = [step["output"] for step in result.steps("piece")]
    assert len(outputs) == 2000
    assert all(output == {"v": "***"} for output in outputs)
