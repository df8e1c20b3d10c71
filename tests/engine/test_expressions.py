"""Templates: JSON types, undefined semantics, mapping keys first, limits and the sandbox."""

from __future__ import annotations

import time
from typing import Any

import pytest

from flomation.engine.expressions import (
    compile_template,
    parse_template,
    scope_globals,
    template_references,
)
from flomation.engine.nodes.base import TemplateError


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
