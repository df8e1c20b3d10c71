"""What the API accepts as JSON: one parser and one check for every body, webhooks included.

`json.loads` accepts things the rest of the product cannot take: nesting deep enough to raise
`RecursionError` (a 500, and a recursion hazard for everything that walks the value later), the
NUL character, which PostgreSQL's `text` and `jsonb` refuse, and lone surrogates (`"\\ud800"`,
or their raw UTF-8 bytes, which `json.loads` lets through), which are not Unicode characters
and cannot be encoded for either database. Such a body is refused here, before any handler
runs, with a 400 naming the problem and where it is (a JSON pointer), so nothing is written.

`JsonBodyGuardMiddleware` applies this to every request whose body is JSON and keeps the parsed
value in the request's state, where the webhook ingress takes it (`parsed_json_body`) instead
of parsing again. The same `check_value` is used on values built from other parts of a request
(a webhook's query and text body).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flomation.errors import BadRequest

# Runner traffic carries step outputs, which may hold an accepted input at full depth inside the
# report's own envelope, plus whatever a code node built: it gets more room (still far below
# the parser's recursion limit). It is signed by a registered runner, not public input.
RUNNER_PATH_PREFIX: Final = "/api/v1/runner/"
RUNNER_DEPTH_FACTOR: Final = 4
_STATE_KEY: Final = "json_body"

# A lone surrogate: json.loads pairs the valid ones into one astral character, so any code
# point left in this range stands alone.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Tokens of a JSON text that matter for nesting (used only to locate a too-deep value when the
# parser itself gave up).
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')


Segment = str | int


class JsonBodyRejected(BadRequest):
    """A body (or a value built from the request) that the product cannot take. `path`: where,
    as keys and indexes from the value's root (None: nowhere in particular); `loc_root`: what
    the value is in the request, for the `loc` of the error (as validation errors have it)."""

    title = "Unacceptable JSON"
    type_slug = "unacceptable-json"

    def __init__(
        self,
        what: str,
        path: tuple[Segment, ...] | None,
        *,
        subject: str = "The request body",
        loc_root: tuple[str, ...] = ("body",),
    ) -> None:
        pointer = None if path is None else "".join("/" + _escape(segment) for segment in path)
        where = f" at {pointer or '/'} (JSON pointer)" if pointer is not None else ""
        error: dict[str, Any] = {"loc": [*loc_root, *(_shown(s) for s in path or ())], "msg": what}
        if pointer is not None:
            error["pointer"] = pointer
        super().__init__(f"{subject} {what}{where}", errors=[error], extra={"pointer": pointer})


class MalformedJson(JsonBodyRejected):
    """A body that is not JSON at all (the middleware leaves it to the route: some take text)."""

    title = "Malformed JSON"
    type_slug = "malformed-json"


def _shown(segment: Segment) -> Segment:
    # The path goes into the answer and the log: the characters it names are written as
    # escapes, since they cannot be encoded themselves.
    if isinstance(segment, int):
        return segment
    return "".join(f"\\u{ord(char):04x}" if _odd(char) else char for char in segment)


def _escape(segment: Segment) -> str:
    return str(_shown(segment)).replace("~", "~0").replace("/", "~1")


def _odd(char: str) -> bool:
    return char == "\x00" or "\ud800" <= char <= "\udfff"


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character (U+0000), which cannot be stored"
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    if found is not None:
        return (
            f"holds a lone surrogate (U+{ord(found.group()):04X}), which is not a Unicode character"
        )
    return None


# A path while walking: (parent, key) tuples, the cheapest thing to make per container; turned
# into segments only when a problem is found.
_Node = tuple[Any, Segment] | None
_CONTAINERS = (dict, list)


def _node_segments(node: _Node, last: Segment | None = None) -> tuple[Segment, ...]:
    found: list[Segment] = [] if last is None else [last]
    while node is not None:
        node, segment = node
        found.append(segment)
    return tuple(reversed(found))


def check_value(
    value: Any,
    *,
    max_depth: int,
    strings: bool = True,
    subject: str = "The request body",
    loc_root: tuple[str, ...] = ("body",),
) -> None:
    """Refuse a parsed value nested deeper than `max_depth` containers, or holding (in a key or
    a string) a NUL or a lone surrogate; `subject` and `loc_root` name the value in the error.
    `strings=False` checks the nesting only (the caller knows no string can be odd).

    Iterative, so a deep value cannot exhaust the stack here either."""

    def rejected(what: str, node: _Node, last: Segment | None = None) -> JsonBodyRejected:
        path = _node_segments(node, last)
        return JsonBodyRejected(what, path, subject=subject, loc_root=loc_root)

    too_deep = f"is nested deeper than {max_depth} levels"
    if isinstance(value, str):
        problem = _string_problem(value) if strings else None
        if problem is not None:
            raise rejected(problem, None)
        return
    if not isinstance(value, _CONTAINERS):
        return
    if max_depth < 1:
        raise rejected(too_deep, None)
    stack: list[tuple[Any, int, _Node]] = [(value, 1, None)]
    while stack:
        container, depth, node = stack.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        if not strings:
            for key, item in items:
                if isinstance(item, _CONTAINERS):
                    if depth >= max_depth:
                        raise rejected(too_deep, node, key)
                    stack.append((item, depth + 1, (node, key)))
            continue
        for key, item in items:
            if isinstance(key, str):
                problem = _string_problem(key)
                if problem is not None:
                    raise rejected(f"has a key that {problem}", node, key)
            if isinstance(item, str):
                problem = _string_problem(item)
                if problem is not None:
                    raise rejected(problem, node, key)
            elif isinstance(item, _CONTAINERS):
                if depth >= max_depth:
                    raise rejected(too_deep, node, key)
                stack.append((item, depth + 1, (node, key)))


def _may_hold_odd_strings(body: bytes) -> bool:
    """Whether the raw body could decode to a NUL or a surrogate: only through a `\\u0000` or
    `\\uD...` escape, a raw surrogate's UTF-8 bytes (which start with 0xED, which json.loads
    lets through) or a NUL byte (also in every UTF-16/32 body). Plain substring searches, the
    fastest test there is; a false alarm (a valid pair, Hangul) only costs the walk."""
    return (
        b"\\u0000" in body
        or b"\\ud" in body
        or b"\\uD" in body
        or b"\xed" in body
        or b"\x00" in body
    )


# Everything but brackets and quotes is dropped, and both kinds of bracket become one.
_DROPPED = bytes(byte for byte in range(256) if byte not in b'[]{}"')
_ONE_KIND = bytes.maketrans(b"{}", b"[]")


def _nested_deeper_than(body: bytes, max_depth: int) -> bool:
    """Whether a body that parsed nests deeper than `max_depth`, with bytes methods only (the
    walk in Python costs several times the parse, and most bodies are fine): escaped
    backslashes and quotes removed (JSON pairs escapes from the left, as `replace` scans), so
    every quote left delimits a string; strings dropped; then the innermost `[]` pairs removed
    once per level."""
    kept = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(_ONE_KIND, _DROPPED)
    brackets = b"".join(kept.split(b'"')[0::2])
    for _ in range(max_depth):
        if not brackets:
            return False
        # One level per pass: `replace` does not look again at what it has just joined.
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


def parse_json(body: bytes, *, max_depth: int) -> Any:
    """Parse a JSON body, refusing what `check_value` refuses. Raises JsonBodyRejected for a
    body that is not JSON at all, too."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise JsonBodyRejected(
            f"is nested deeper than {max_depth} levels", _deep_path(body, max_depth)
        ) from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise MalformedJson(f"is not valid JSON: {exc}", None) from None
    odd = _may_hold_odd_strings(body)
    if odd or _nested_deeper_than(body, max_depth):
        check_value(value, max_depth=max_depth, strings=odd)
    return value


def _deep_path(body: bytes, max_depth: int) -> tuple[Segment, ...] | None:
    """Where the first container beyond `max_depth` opens, found by following the nesting
    tokens (the parser gave up before it could say). None when the body is not text."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # Per open container: its kind and the key or index of the value being read in it.
    frames: list[list[Any]] = []
    expecting_key = False
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            if len(frames) >= max_depth:
                return tuple(segment for _kind, segment in frames)
            frames.append(["[", 0] if token == "[" else ["{", ""])
            expecting_key = token == "{"
        elif token in "]}":
            if frames:
                frames.pop()
            expecting_key = False
        elif token == ",":
            if frames and frames[-1][0] == "[":
                frames[-1][1] += 1
            else:
                expecting_key = True
        elif token == ":":
            expecting_key = False
        elif expecting_key and frames:
            try:
                frames[-1][1] = json.loads(token)
            except ValueError:
                frames[-1][1] = token[1:-1]
    return None


def is_json_content_type(content_type: str | None) -> bool:
    """`application/json` and `application/*+json`, or no content type at all (FastAPI parses
    an untyped body as JSON)."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


NOT_PARSED: Final = object()


def parsed_json_body(request: Request) -> Any:
    """The body the guard already parsed and checked, or `NOT_PARSED` when it did not (not
    JSON by its content type, or not valid JSON)."""
    state = request.scope.get("state") or {}
    return state.get(_STATE_KEY, NOT_PARSED)


class JsonBodyGuardMiddleware:
    """Reads a JSON body whole (the size limit and the read timeout sit outside this), parses
    and checks it once, and answers 400 problem+json for what `parse_json` refuses. A body that
    is not JSON at all goes on to the handler, which answers as it always did (a route may take
    text). A NUL in the path or the query string is refused too: every route would pass it to
    the database."""

    def __init__(self, app: ASGIApp, *, max_depth: int) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            part = "path" if "\x00" in scope["path"] else "query string"
            await send_problem(
                send,
                400,
                "Bad request",
                f"The request's {part} holds a NUL character (%00), which cannot be stored",
                "bad-request",
            )
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if not is_json_content_type(content_type) or headers.get(b"content-length") == b"0":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away: nothing to check; the handler sees the disconnect.
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body:
            max_depth = self.max_depth
            if scope["path"].startswith(RUNNER_PATH_PREFIX):
                max_depth *= RUNNER_DEPTH_FACTOR
            try:
                value = parse_json(body, max_depth=max_depth)
            except MalformedJson:
                pass  # the route answers it as it always did (400, or it takes text)
            except JsonBodyRejected as exc:
                await send_problem(send, 400, exc.title, exc.detail, exc.type_slug, exc)
                return
            else:
                scope.setdefault("state", {})[_STATE_KEY] = value
        replayed: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that answers `messages` first, then whatever the client sends next (the
    disconnect a streaming answer listens for)."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    type_slug: str,
    error: BadRequest | None = None,
    *,
    close: bool = False,
) -> None:
    """A problem+json answer sent from middleware, before FastAPI's handlers are reached."""
    body: dict[str, Any] = {
        "type": f"https://flomation.dev/problems/{type_slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if error is not None:
        if error.errors is not None:
            body["errors"] = error.errors
        body.update(error.extra)
    # ASCII escapes: the detail may quote characters that cannot be encoded as they are.
    payload = json.dumps(body, ensure_ascii=True).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
