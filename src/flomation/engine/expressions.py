"""Templates: Jinja2 in an immutable sandbox, with JSON-typed single expressions and limits.

A string that is exactly one `{{ ... }}` evaluates to the expression's value (a number stays a
number, a string stays a string and is never re-parsed); any other template renders to text.
Undefined values follow the flow format: falsy and testable, attribute access gives undefined
again, anything else (rendering, iterating, comparing, computing) fails.

Limits keep a template from taking the runner down: every render has a deadline (1 s) checked
inside `{% for %}` loops and between output chunks, and the operators and filters that can
grow a value (`*`, `**`, `+`, `~`, `%`, `center`, `join`, `replace`, ...) refuse results
above `MAX_SIZE` before computing them. All failures surface as `TemplateError`.

Every rendered value is made plain JSON at render time (`_plain`), so nothing else ever sees a
Jinja object: an undefined value anywhere inside, bytes, NaN or infinity, a mapping key that
is not a string, or an object of any other type is a template error naming the template and
where in the value it sits. Tuples, ranges, mapping views and iterators (`map` without
`| list`) become lists, bounded by `MAX_SIZE`; other mappings become dicts. A mapping or list
read as it is from the scope (`{{ input }}`) is the scope's own JSON data and is not walked.

Secrets arrive tainted (see `masking.TaintedStr`): the operators, string methods and filters
here keep the taint on every string they make from a tainted one, and the strings that reach
a rendered value are handed to the execution's masker, so what the secret became is masked
wherever it is recorded. A plain value equal to a secret or learned value (a node's output
read back with `nodes.x.y`) is tainted again when a template reads it.
"""

from __future__ import annotations

import json
import math
import re
import string
import textwrap
import threading
import time
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, partial, wraps
from typing import Any, NoReturn

from jinja2 import ChainableUndefined, Undefined, nodes
from jinja2.compiler import Frame
from jinja2.exceptions import TemplateSyntaxError
from jinja2.filters import do_indent, sync_do_slice
from jinja2.nativetypes import NativeCodeGenerator
from jinja2.runtime import Context, new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from flomation.engine.masking import (
    MASK,
    MIN_DERIVED_LEN,
    Masker,
    SecretValues,
    TaintedStr,
    carry,
    tainted_made,
)
from flomation.engine.nodes.base import TemplateError

__all__ = [
    "MAX_SIZE",
    "RENDER_TIMEOUT_S",
    "CompiledTemplate",
    "FlowUndefined",
    "TemplateReferences",
    "compile_template",
    "environment",
    "is_template",
    "parse_template",
    "template_references",
]

RENDER_TIMEOUT_S = 1.0
# Largest string or sequence (in characters or items) an operator or filter may produce, and
# largest text a template may render.
MAX_SIZE = 1_000_000
# Largest integer (in bits) arithmetic may produce; Python refuses to print far smaller ones.
MAX_INT_BITS = 100_000
# How many loop iterations pass between two deadline checks.
_CHECK_EVERY = 256

_deadline: ContextVar[float] = ContextVar("flomation_template_deadline", default=math.inf)
# The masker of the execution rendering now (None without secrets): values it knows are tainted
# again when a template reads them from the scope.
_masker: ContextVar[Masker | None] = ContextVar("flomation_template_masker", default=None)
# How many renders with secrets are running (in any thread): while none is, the scope lookups
# skip the context variable (a hint only; `_masker` decides).
_tainting_renders = 0
_tainting_lock = threading.Lock()


class TemplateLimitError(Exception):
    """A template went over its time or size limit."""


def _carry(result: Any, *sources: Any) -> Any:
    """`masking.carry`, skipped while no render with secrets runs (nothing can be tainted)."""
    return carry(result, *sources) if _tainting_renders else result


def _over_deadline() -> NoReturn:
    raise TemplateLimitError(f"template ran longer than its limit of {RENDER_TIMEOUT_S:g} s")


def _check_deadline() -> None:
    if time.monotonic() > _deadline.get():
        _over_deadline()


def _too_big(what: str, size: int) -> NoReturn:
    raise TemplateLimitError(f"{what} would produce {size} items, over the limit of {MAX_SIZE}")


# --------------------------------------------------------------------------- undefined


class FlowUndefined(ChainableUndefined):
    """Falsy and testable; chaining attributes stays undefined; any other use fails."""

    __slots__ = ()

    __str__ = __iter__ = __len__ = __contains__ = Undefined._fail_with_undefined_error
    __eq__ = __ne__ = __hash__ = Undefined._fail_with_undefined_error
    __aiter__ = __html__ = Undefined._fail_with_undefined_error

    def __bool__(self) -> bool:
        return False


# --------------------------------------------------------------------------- size guards


def _seq_len(value: Any) -> int | None:
    if isinstance(value, str | list | tuple):
        return len(value)
    return None


def _guarded_mul(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateLimitError(
                f"multiplication result is over the limit of {MAX_INT_BITS} bits"
            )
    else:
        for seq, count in ((left, right), (right, left)):
            n = _seq_len(seq)
            if n is not None and isinstance(count, int) and n * count > MAX_SIZE:
                _too_big("repetition", n * count)
    return left * right


def _guarded_pow(left: Any, right: Any) -> Any:
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and abs(left) > 1
        and right * left.bit_length() > MAX_INT_BITS
    ):
        raise TemplateLimitError(f"power result is over the limit of {MAX_INT_BITS} bits")
    return left**right


def _guarded_add(left: Any, right: Any) -> Any:
    a, b = _seq_len(left), _seq_len(right)
    if a is not None and b is not None and a + b > MAX_SIZE:
        _too_big("concatenation", a + b)
    return left + right


_PERCENT_SPEC = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(fmt: str) -> None:
    for match in _PERCENT_SPEC.finditer(fmt):
        for part in match.groups():
            if part == "*":
                raise TemplateLimitError("'*' widths in %-formatting are not allowed")
            if part is not None and int(part) > MAX_SIZE:
                _too_big("%-format width", int(part))


def _guarded_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        _check_percent_format(left)
    return _carry(left % right, left, right)


_NUMBER = re.compile(r"\d+")


def _check_format_string(fmt: str) -> None:
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise TemplateLimitError(f"bad format string: {exc}") from None
    for _literal, _field, spec, _conversion in parsed:
        if not spec:
            continue
        if "{" in spec:
            raise TemplateLimitError("nested replacement fields in format specs are not allowed")
        for number in _NUMBER.findall(spec):
            if int(number) > MAX_SIZE:
                _too_big("format width", int(number))


def _check_len(result: str) -> str:
    if len(result) > MAX_SIZE:
        _too_big("string", len(result))
    return result


def _guard_width(method: Callable[..., str]) -> Callable[..., str]:
    def guarded(width: Any = 0, *args: Any) -> str:
        if isinstance(width, int) and width > MAX_SIZE:
            _too_big("padding", width)
        return method(width, *args)

    return guarded


def _guard_replace(s: str) -> Callable[..., str]:
    def replace(old: str, new: str, count: int = -1) -> str:
        occurrences = len(s) + 1 if old == "" else s.count(old)
        if count >= 0:
            occurrences = min(occurrences, count)
        size = len(s) + occurrences * (len(new) - len(old))
        if size > MAX_SIZE:
            _too_big("replace", size)
        return s.replace(old, new, count)

    return replace


def _guard_join(sep: str) -> Callable[[Iterable[Any]], str]:
    def join(iterable: Iterable[Any]) -> str:
        items = list(iterable)
        size = sum(len(x) for x in items if isinstance(x, str)) + len(sep) * max(0, len(items) - 1)
        if size > MAX_SIZE:
            _too_big("join", size)
        return _carry(sep.join(items), sep, items)  # type: ignore[no-any-return]

    return join


def _guard_expandtabs(s: str) -> Callable[..., str]:
    def expandtabs(tabsize: int = 8) -> str:
        size = len(s) + s.count("\t") * max(tabsize, 0)
        if size > MAX_SIZE:
            _too_big("expandtabs", size)
        return s.expandtabs(tabsize)

    return expandtabs


def _refused(name: str) -> Callable[..., NoReturn]:
    def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise TemplateLimitError(f"str.{name} is not available in templates")

    return refuse


def _str_method_guard(s: str, name: str) -> Callable[..., Any] | None:
    if name in ("ljust", "rjust", "center", "zfill"):
        return _guard_width(getattr(s, name))
    if name == "replace":
        return _guard_replace(s)
    if name == "join":
        return _guard_join(s)
    if name == "expandtabs":
        return _guard_expandtabs(s)
    if name in ("translate", "maketrans"):
        return _refused(name)
    return None


def _loop_guard(iterable: Any) -> Iterator[Any]:
    """Wraps every `{% for %}` iterable: the render deadline is checked while looping."""
    deadline = _deadline.get()
    for count, item in enumerate(iterable):
        if count % _CHECK_EVERY == 0 and time.monotonic() > deadline:
            _over_deadline()
        yield item


def _concat(parts: Iterable[Any]) -> str:
    """The `~` operator (and macro, `{% set %}` and `{% filter %}` bodies) with a size check
    before joining; the result is tainted when a part is."""
    found: list[str] = []
    texts = [_to_text(p, found) for p in parts]
    size = sum(len(t) for t in texts)
    if size > MAX_SIZE:
        _too_big("concatenation", size)
    text = "".join(texts)
    return TaintedStr(text) if found else text


# --------------------------------------------------------------------------- filters


def _filter_center(value: Any, width: int = 80) -> str:
    return _guard_width(str(value).center)(width)


def _filter_indent(
    value: Any, width: int | str = 4, first: bool = False, blank: bool = False
) -> str:
    s = str(value)
    pad = width if isinstance(width, str) else " " * min(int(width), MAX_SIZE + 1)
    size = len(s) + (s.count("\n") + 1) * len(pad)
    if size > MAX_SIZE:
        _too_big("indent", size)
    return do_indent(s, pad, first, blank)


def _filter_format(value: Any, *args: Any, **kwargs: Any) -> str:
    fmt = str(value)
    _check_percent_format(fmt)
    return _check_len(fmt % (kwargs or args))


def _filter_join(value: Iterable[Any], d: str = "", attribute: str | int | None = None) -> str:
    items = list(value)
    if attribute is not None:
        items = [environment.getitem(item, attribute) for item in items]
    found: list[str] = []
    text = _guard_join(d)([_to_text(item, found) for item in items])
    return TaintedStr(text) if found else text


def _filter_replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    return _guard_replace(str(value))(old, new, -1 if count is None else count)


def _filter_sum(iterable: Iterable[Any], attribute: str | int | None = None, start: Any = 0) -> Any:
    total = start
    for item in iterable:
        value = environment.getitem(item, attribute) if attribute is not None else item
        total = _guarded_add(total, value)
    return total


def _filter_slice(value: Iterable[Any], slices: int, fill_with: Any = None) -> Any:
    if slices > MAX_SIZE:
        _too_big("slice", slices)
    # The sync variant: `do_slice` is Jinja's async-aware wrapper, which wants an eval context
    # first and failed on every value.
    return list(sync_do_slice(_materialise(value), slices, fill_with))


def _filter_wordwrap(
    value: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    s = str(value)
    wrap = "\n" if wrapstring is None else wrapstring
    size = len(s) + (len(s) // max(width, 1) + 1) * len(wrap)
    if size > MAX_SIZE:
        _too_big("wordwrap", size)
    lines = []
    for line in s.splitlines():
        lines.extend(
            textwrap.wrap(
                line,
                width=max(width, 1),
                expand_tabs=False,
                replace_whitespace=False,
                break_long_words=break_long_words,
                break_on_hyphens=break_on_hyphens,
            )
        )
    return wrap.join(lines)


def _filter_tojson(value: Any, indent: int | None = None) -> str:
    if indent is not None and not 0 <= indent <= 16:
        raise TemplateLimitError("tojson indent must be between 0 and the limit of 16")
    return _check_len(json.dumps(value, indent=indent, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, Undefined):
        str(value)  # raises the undefined error
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Filters that make a new string from their input: the new string keeps the input's taint.
# (Filters that pick items, such as first, last, sort or batch, return the tainted items.)
_STRING_FILTERS = (
    "capitalize",
    "center",
    "e",
    "escape",
    "forceescape",
    "format",
    "indent",
    "lower",
    "pprint",
    "replace",
    "reverse",
    "safe",
    "string",
    "striptags",
    "title",
    "tojson",
    "trim",
    "truncate",
    "upper",
    "urlencode",
    "urlize",
    "wordwrap",
    "xmlattr",
)


def _carrying(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` whose string result is tainted when any argument is (Jinja's pass_* marks are
    kept by `wraps`)."""

    @wraps(func)
    def filter_(*args: Any, **kwargs: Any) -> Any:
        return _carry(func(*args, **kwargs), args, kwargs)

    return filter_


# --------------------------------------------------------------------------- environment


class _FlowCodeGenerator(NativeCodeGenerator):
    """Native output plus a size-checked `~` operator.

    Constant outputs are not folded at compile time: the native generator would fold
    `{{ 3 }}` into the text "3", losing its JSON type.
    """

    def _output_child_to_const(
        self, node: nodes.Expr, frame: Frame, finalize: NativeCodeGenerator._FinalizeInfo
    ) -> Any:
        raise nodes.Impossible()

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802
        self.write("environment.flomation_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class FlowEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox every template of every flow runs in."""

    code_generator_class = _FlowCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=FlowUndefined, autoescape=False, cache_size=0)
        self.binop_table = {
            **self.binop_table,
            "*": _guarded_mul,
            "**": _guarded_pow,
            "+": _guarded_add,
            "%": _guarded_mod,
        }
        # lipsum can make megabytes of text from one small call; nobody needs it in a flow.
        self.globals.pop("lipsum", None)
        self.filters.update(
            {
                "center": _filter_center,
                "indent": _filter_indent,
                "format": _filter_format,
                "join": _filter_join,
                "replace": _filter_replace,
                "sum": _filter_sum,
                "slice": _filter_slice,
                "wordwrap": _filter_wordwrap,
                "tojson": _filter_tojson,
            }
        )
        for name in _STRING_FILTERS:
            self.filters[name] = _carrying(self.filters[name])
        # Generated code joins macro, `{% set %}` and `{% filter %}` bodies with this.
        self.concat = _concat  # type: ignore[method-assign]
        self.flomation_concat = _concat
        self.flomation_loop_guard = _loop_guard

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return self.binop_table[operator](left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `a.b` on a mapping reads the key first, so `{{ body.items }}` is data, not a method.
        # A string read from the scope that the execution's masker knows (a secret, or text a
        # template made from one that a node passed on) is tainted again, so a second
        # transform in a later node is followed too.
        if isinstance(obj, Mapping):
            try:
                value = obj[attribute]
            except (KeyError, TypeError):
                pass
            else:
                # Inlined `_retaint`: this runs for every attribute of every render.
                if (
                    _tainting_renders
                    and type(value) is str
                    and (masker := _masker.get())
                    and masker.knows(value)
                ):
                    return TaintedStr(value)
                return value
        value = super().getattr(obj, attribute)
        if isinstance(obj, str):
            guard = _str_method_guard(obj, attribute)
            if guard is not None:
                return guard
        return value

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        if isinstance(obj, str) and isinstance(argument, str):
            guard = _str_method_guard(obj, argument)
            if guard is not None:
                return guard
        if (
            _tainting_renders
            and type(value) is str
            and (masker := _masker.get())
            and masker.knows(value)
        ):
            return TaintedStr(value)
        return value

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__
        _check_format_string(fmt)

        def checked(*args: Any, **kwargs: Any) -> str:
            return _carry(_check_len(wrapped(*args, **kwargs)), fmt, args, kwargs)  # type: ignore[no-any-return]

        return checked


environment = FlowEnvironment()


# --------------------------------------------------------------------------- compile/render

_MARKERS = ("{{", "{%", "{#")


def is_template(value: str) -> bool:
    """Whether a string has template syntax at all (plain strings are used as they are)."""
    return any(marker in value for marker in _MARKERS)


def parse_template(source: str) -> nodes.Template:
    """Parses a template; raises `TemplateSyntaxError` with line information."""
    return environment.parse(source)


def _guard_loops(tree: nodes.Template) -> None:
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(
            nodes.EnvironmentAttribute("flomation_loop_guard"), [loop.iter], [], None, None
        )


def _is_lookup(expr: nodes.Node) -> bool:
    """Whether `expr` is a name with constant attribute or item reads (`a.b['c'][0]`)."""
    while isinstance(expr, nodes.Getattr | nodes.Getitem):
        if isinstance(expr, nodes.Getitem) and not isinstance(expr.arg, nodes.Const):
            return False
        expr = expr.node
    return isinstance(expr, nodes.Name)


def _is_single_expression(tree: nodes.Template) -> bool:
    body = tree.body
    return (
        len(body) == 1
        and isinstance(body[0], nodes.Output)
        and len(body[0].nodes) == 1
        and not isinstance(body[0].nodes[0], nodes.TemplateData)
    )


def _to_text(value: Any, found: list[str]) -> str:
    """A rendered chunk as text; tainted strings in it (and the text they make) go to `found`."""
    if isinstance(value, str):
        if isinstance(value, TaintedStr):
            found.append(value)
        return value
    if isinstance(value, bool) or value is None or isinstance(value, dict | list | tuple):
        inner: list[str] = []
        text = json.dumps(_plain(value, inner, ""), ensure_ascii=False)
        found.extend(inner)
        if inner and _holds_short(inner):
            found.append(text)
        return text
    if isinstance(value, Undefined):
        return str(value)  # raises the undefined error
    return str(value)


def _holds_short(found: list[str]) -> bool:
    return any(len(derived) < MIN_DERIVED_LEN for derived in found)


class NotJSONError(TemplateLimitError):
    """A rendered value holds something JSON cannot (its message says what and where)."""


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def _plain_key(key: Any, found: list[str], path: str) -> str:
    if isinstance(key, str):
        if isinstance(key, TaintedStr):
            found.append(key)
        return key if type(key) is str else str.__str__(key)
    raise NotJSONError(f"the mapping key {key!r}{_where(path)} (JSON keys are strings)")


def _materialise(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    deadline = _deadline.get()
    for item in items:
        out.append(item)
        if len(out) > MAX_SIZE:
            _too_big("sequence", len(out))
        if len(out) % _CHECK_EVERY == 0 and time.monotonic() > deadline:
            _over_deadline()
    return out


def _plain_list(value: list[Any], found: list[str], path: str) -> list[Any]:
    out: list[Any] | None = None
    for index, item in enumerate(value):
        plain = _plain(item, found, f"{path}[{index}]")
        if out is None and plain is not item:
            out = value[:index]
        if out is not None:
            out.append(plain)
    return value if out is None else out


def _plain_dict(value: Mapping[Any, Any], found: list[str], path: str) -> dict[str, Any]:
    out: dict[str, Any] | None = None if type(value) is dict else {}
    for index, (key, item) in enumerate(value.items()):
        plain_key = _plain_key(key, found, path)
        plain = _plain(item, found, f"{path}.{plain_key}")
        if out is None and (plain_key is not key or plain is not item):
            out = dict(list(value.items())[:index])
        if out is not None:
            out[plain_key] = plain
    return value if out is None else out  # type: ignore[return-value]


_LEAVES = frozenset({str, int, bool, type(None)})


def _is_plain(value: Any) -> bool:
    """Whether `value` is already plain JSON (exact types, string keys, finite numbers).

    Iterative, so data nested deeper than Python's recursion limit (a webhook's body, passed
    on whole by `{{ input }}`) is checked without recursing; only what needs converting is
    walked recursively by `_plain`. Leaves are checked in place: this runs on every render.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            children = item.values()
        elif kind is list:
            children = item
        elif kind in _LEAVES:
            continue
        elif kind is float:
            if not math.isfinite(item):
                return False
            continue
        else:
            return False
        for child in children:
            if type(child) not in _LEAVES:
                stack.append(child)
    return True


def _plain(value: Any, found: list[str], path: str) -> Any:
    """`value` as plain JSON types (the same object when it already is); tainted strings go to
    `found`. Raises `NotJSONError` for what JSON cannot hold."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if not path and (kind is dict or kind is list) and _is_plain(value):
        return value
    if kind is float:
        if not math.isfinite(value):
            raise NotJSONError(f"{value!r}{_where(path)} (JSON numbers are finite)")
        return value
    if kind is dict:
        return _plain_dict(value, found, path)
    if kind is list:
        return _plain_list(value, found, path)
    if isinstance(value, str):  # tainted, Markup and other str subclasses
        if isinstance(value, TaintedStr):
            found.append(value)
        return str.__str__(value)
    if isinstance(value, Undefined):
        try:
            str(value)
        except Exception as exc:
            raise NotJSONError(f"undefined value{_where(path)} ({_describe(exc)})") from None
        raise NotJSONError(f"undefined value{_where(path)}")  # pragma: no cover
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _plain(float(value), found, path)
    if isinstance(value, Mapping):
        return _plain_dict(value, found, path)
    if isinstance(value, bytes | bytearray):
        raise NotJSONError(f"bytes{_where(path)} (decode them to text, or use .hex())")
    if isinstance(value, list | tuple | range | KeysView | ValuesView | ItemsView | Iterator):
        return _plain_list(_materialise(value), found, path)
    raise NotJSONError(f"a {kind.__name__}{_where(path)}")


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """A template compiled once; `render(scope)` gives a JSON value (single expression) or text."""

    source: str
    single: bool
    # A single expression that only reads the scope (`{{ input }}`, `{{ nodes.a.output.rows }}`):
    # a mapping or list it gives is the scope's own data, already JSON, and is not walked.
    lookup: bool
    _render_func: Callable[[Context], Iterator[Any]]
    _new_context: Callable[..., Context]

    def render(self, scope: dict[str, Any]) -> Any:
        """Renders with `scope` (which must include the environment's globals, see `scope_globals`).

        Raises `TemplateError` (without a field; callers add it) on any failure.
        """
        token = _deadline.set(time.monotonic() + RENDER_TIMEOUT_S)
        secrets = scope.get("secrets")
        # Without secrets nothing can be tainted: skip the taint work altogether.
        masker = secrets.tainting if type(secrets) is SecretValues else None
        masker_token = made_token = None
        if masker is not None:
            masker_token = _masker.set(masker)
            made_token = tainted_made.set([])
            _count_tainting(1)
            # A foreach body's `item` is a name, not a lookup: taint it here when it is known.
            item = scope.get("item")
            if type(item) is str and masker.knows(item):
                scope = {**scope, "item": TaintedStr(item)}
        found: list[str] = []
        made: list[str] | None = None
        error: TemplateError | None = None
        try:
            context = self._new_context(scope, True)
            if self.single:
                value = next(iter(self._render_func(context)))
                kind = type(value)
                if self.lookup and (kind is dict or kind is list):
                    result = value
                else:
                    result = _plain(value, found, "")
            else:
                result = self._render_text(context, found)
        except TemplateError as exc:
            error = exc
        except NotJSONError as exc:
            error = TemplateError(f"{_quoted(self.source)} does not give JSON: {exc}")
        except TemplateLimitError as exc:
            error = TemplateError(str(exc))
        except RecursionError:
            error = TemplateError("template recursion is too deep")
        except MemoryError:
            error = TemplateError("template ran out of memory")
        except Exception as exc:
            error = TemplateError(_describe(exc))
        finally:
            _deadline.reset(token)
            if masker_token is not None:
                _masker.reset(masker_token)
                _count_tainting(-1)
            if made_token is not None:
                made = tainted_made.get()
                tainted_made.reset(made_token)
        if error is not None:
            if made:
                # Jinja may quote what the template made (a missing key, say): mask it here,
                # where it is known, before the error is recorded.
                error = TemplateError(_without(error.message, made), field=error.field)
            raise error from None
        if masker is not None:
            for derived in found:
                masker.learn(derived)
        return result

    def _render_text(self, context: Context, found: list[str]) -> str:
        parts: list[str] = []
        size = 0
        deadline = _deadline.get()
        for chunk in self._render_func(context):
            text = _to_text(chunk, found)
            size += len(text)
            if size > MAX_SIZE:
                _too_big("rendered text", size)
            if time.monotonic() > deadline:
                _over_deadline()
            parts.append(text)
        text = "".join(parts)
        if found and _holds_short(found):
            # A short derived piece alone is masked only as an exact value, which would miss
            # it inside this text: mask the whole text.
            found.append(text)
        return text


def _without(message: str, made: list[str]) -> str:
    """`message` with every string a render made from a secret masked, longest first."""
    for derived in sorted(
        {str.__str__(m) for m in made if len(m) >= MIN_DERIVED_LEN}, key=len, reverse=True
    ):
        message = message.replace(derived, MASK)
    return message


def _count_tainting(delta: int) -> None:
    global _tainting_renders
    with _tainting_lock:
        _tainting_renders += delta


def _quoted(source: str, limit: int = 80) -> str:
    """The template's source for an error message, shortened."""
    return repr(source if len(source) <= limit else source[: limit - 3] + "...")


def _describe(exc: Exception) -> str:
    message = str(exc) or type(exc).__name__
    if type(exc).__module__.startswith("jinja2"):
        return message
    return f"{type(exc).__name__}: {message}"


@lru_cache(maxsize=8192)
def compile_template(source: str) -> CompiledTemplate:
    """Compiles (once, cached) a template; raises `TemplateError` when it does not parse."""
    try:
        tree = environment.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template does not parse: {exc.message} (line {exc.lineno})") from None
    single = _is_single_expression(tree)
    lookup = single and _is_lookup(tree.body[0].nodes[0])  # type: ignore[attr-defined]
    _guard_loops(tree)
    template = environment.from_string(tree)
    # Contexts are made directly, without the template's globals: the render scope already
    # holds them (see `scope_globals`), and Jinja would otherwise copy their names per render.
    make_context = partial(new_context, environment, template.name, template.blocks)
    return CompiledTemplate(
        source=source,
        single=single,
        lookup=lookup,
        _render_func=template.root_render_func,
        _new_context=make_context,
    )


def scope_globals() -> dict[str, Any]:
    """The sandbox's globals (range, dict, namespace, ...), to start a render scope from."""
    return dict(environment.globals)


# --------------------------------------------------------------------------- references

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


@dataclass(slots=True)
class TemplateReferences:
    """Literal `vars.NAME`/`secrets.NAME` and `nodes.ID` references of one template."""

    vars: set[str]
    secrets: set[str]
    nodes: set[str]
    problems: list[str]


def template_references(tree: nodes.Template) -> TemplateReferences:
    """Finds what a parsed template references; computed var/secret names are problems."""
    refs = TemplateReferences(set(), set(), set(), [])
    literal_uses: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        target = node.node
        if not isinstance(target, nodes.Name) or target.ctx != "load":
            continue
        name: str | None = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            name = node.arg.value
        if name is None:
            continue
        if target.name in ("vars", "secrets"):
            literal_uses.add(id(target))
            if not _NAME_RE.match(name):
                refs.problems.append(f"{target.name}.{name} is not a valid name")
            elif target.name == "vars":
                refs.vars.add(name)
            else:
                refs.secrets.add(name)
        elif target.name == "nodes":
            refs.nodes.add(name)
    for name_node in tree.find_all(nodes.Name):
        if name_node.name in ("vars", "secrets") and id(name_node) not in literal_uses:
            refs.problems.append(
                f"{name_node.name} must be used with a literal name "
                f"({name_node.name}.NAME); computed names cannot be resolved before the run"
            )
    return refs
