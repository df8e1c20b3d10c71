"""Reading an OpenAPI document: parse (JSON or YAML), check the parts the import relies on, and
follow `$ref`s within the document. Every problem is an `OpenApiDocumentError` naming the first
broken place as a JSON pointer (RFC 6901), so the API can answer it as problem+json."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

__all__ = [
    "HTTP_METHODS",
    "MAX_DOCUMENT_BYTES",
    "OpenApiDocumentError",
    "Resolver",
    "check_document",
    "load_document",
    "pointer",
]

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
# A YAML document may repeat one subtree through aliases; copying it into plain JSON values
# could then grow far beyond the 5 MiB read. This bounds the values the import will handle.
MAX_VALUES = 2_000_000
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARAMETER_LOCATIONS = ("query", "header", "path", "cookie")
_PATH_TEMPLATE = re.compile(r"\{([^{}/]+)\}")
# RFC 9110 5.1: what a header name may be made of.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class OpenApiDocumentError(ValueError):
    """The document cannot be imported; `pointer` is where (`""` is the whole document)."""

    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(f"{pointer or '(document)'}: {message}")
        self.pointer = pointer
        self.message = message


def pointer(*tokens: str | int) -> str:
    """The JSON pointer of these reference tokens (`/paths/~1pets/get`)."""
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def _tokens(ptr: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr.split("/")[1:]]


# --------------------------------------------------------------------------- loading


def load_document(document: bytes | str) -> dict[str, Any]:
    """The document as plain JSON values; raises `OpenApiDocumentError` when it is too large,
    not JSON or YAML, or not an object."""
    raw = document.encode() if isinstance(document, str) else document
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise OpenApiDocumentError(
            "", f"the document is {len(raw)} bytes; at most {MAX_DOCUMENT_BYTES} are accepted"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OpenApiDocumentError("", f"the document is not UTF-8 text ({exc.reason})") from None
    try:
        parsed = _parse(text)
        if not isinstance(parsed, Mapping):
            raise OpenApiDocumentError("", "the document is not a JSON or YAML object")
        plain: dict[str, Any] = _plain(parsed, [], [MAX_VALUES])
    except RecursionError:
        # Thousands of nested lists or objects: the parsers and the copy recurse.
        raise OpenApiDocumentError("", "the document is nested too deeply") from None
    return plain


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        # libyaml's loader when PyYAML has it: the same document, several times faster.
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where else ""
        problem = getattr(exc, "problem", None)
        said = f": {problem}" if problem else ""
        raise OpenApiDocumentError("", f"the document is neither JSON nor YAML{said}{at}") from None


def _plain(value: Any, path: list[str | int], budget: list[int]) -> Any:
    """YAML values as JSON ones: keys as strings (YAML reads `200:` as a number), dates as
    ISO 8601 text; anything else that JSON cannot hold is refused where it is (`path`)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise OpenApiDocumentError("", f"the document holds more than {MAX_VALUES} values")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = _key_text(key)
            path.append(name)
            out[name] = _plain(item, path, budget)
            path.pop()
        return out
    if isinstance(value, list):
        items = []
        for index, item in enumerate(value):
            path.append(index)
            items.append(_plain(item, path, budget))
            path.pop()
        return items
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise OpenApiDocumentError(pointer(*path), f"a {type(value).__name__} value is not JSON")


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, datetime.date):
        return key.isoformat()
    return str(key)


# --------------------------------------------------------------------------- references


class Resolver:
    """Follows local `$ref`s (`#/components/...`) of one document."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc

    def lookup(self, ref: Any, at: str) -> tuple[Any, str]:
        """The value a `$ref` names and its pointer; `at` is the pointer of the `$ref`."""
        if not isinstance(ref, str):
            raise OpenApiDocumentError(at, "$ref must be a string")
        if not ref.startswith("#"):
            raise OpenApiDocumentError(
                at, f"$ref {ref!r} points outside the document; only refs within it are followed"
            )
        target = ref[1:]
        if target and not target.startswith("/"):
            raise OpenApiDocumentError(at, f"$ref {ref!r} is not a JSON pointer")
        node: Any = self.doc
        for token in _tokens(target):
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise OpenApiDocumentError(at, f"$ref {ref!r} does not resolve in the document")
        return node, target

    def resolve(self, node: Any, at: str) -> tuple[Any, str]:
        """`node` with its `$ref` chain followed (a reference to a reference ...), and the
        pointer of what it ended on; a chain that comes back on itself is refused."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and "$ref" in node:
            ref_at = at + "/$ref"
            node, target = self.lookup(node["$ref"], ref_at)
            if target in seen:
                raise OpenApiDocumentError(ref_at, f"$ref {target!r} refers back to itself")
            seen.add(target)
            at = target
        return node, at


# --------------------------------------------------------------------------- checks


def check_document(doc: Mapping[str, Any]) -> str:
    """Checks what the import relies on, in document order, and returns the OpenAPI version
    (`"3.0"` or `"3.1"`). Raises `OpenApiDocumentError` at the first problem."""
    version = doc.get("openapi")
    if "openapi" not in doc:
        if "swagger" in doc:
            raise OpenApiDocumentError(
                "/swagger", "Swagger 2.0 is not imported; convert it to OpenAPI 3 first"
            )
        raise OpenApiDocumentError("/openapi", "missing: this is not an OpenAPI document")
    if not isinstance(version, str) or not re.match(r"^3\.[01](\.\d+)?(-[\w.]+)?$", version):
        raise OpenApiDocumentError(
            "/openapi", f"OpenAPI {version!r} is not imported; only 3.0 and 3.1 are"
        )
    info = _object(doc, "info", "", required=True)
    for key in ("title", "version"):
        if not isinstance(info.get(key), str):
            raise OpenApiDocumentError(pointer("info", key), "missing or not a string")
    _check_servers(doc.get("servers"), "/servers")
    resolver = Resolver(doc)
    paths = _object(doc, "paths", "", required=version.startswith("3.0"))
    for path, item in paths.items():
        _check_path(resolver, version, path, item)
    components = _object(doc, "components", "", required=False)
    schemes = _object(components, "securitySchemes", "/components", required=False)
    for name, scheme in schemes.items():
        _check_security_scheme(resolver, scheme, pointer("components", "securitySchemes", name))
    return version[:3]


def _object(parent: Mapping[str, Any], key: str, at: str, *, required: bool) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        if required:
            raise OpenApiDocumentError(at + pointer(key), "missing")
        return {}
    if not isinstance(value, Mapping):
        raise OpenApiDocumentError(at + pointer(key), "must be an object")
    return value


def _check_servers(servers: Any, at: str) -> None:
    if servers is None:
        return
    if not isinstance(servers, list):
        raise OpenApiDocumentError(at, "must be a list")
    for index, server in enumerate(servers):
        if not isinstance(server, Mapping) or not isinstance(server.get("url"), str):
            raise OpenApiDocumentError(f"{at}/{index}/url", "missing or not a string")


def _check_path(resolver: Resolver, version: str, path: str, item: Any) -> None:
    at = pointer("paths", path)
    if path.startswith("x-"):
        return
    if not path.startswith("/"):
        raise OpenApiDocumentError(at, "a path must start with '/'")
    item, item_at = resolver.resolve(item, at)
    if not isinstance(item, Mapping):
        raise OpenApiDocumentError(item_at, "a path item must be an object")
    shared = _check_parameters(resolver, item.get("parameters"), item_at + "/parameters")
    templated = set(_PATH_TEMPLATE.findall(path))
    for method, operation in item.items():
        if method not in HTTP_METHODS:
            continue
        op_at = item_at + pointer(method)
        if not isinstance(operation, Mapping):
            raise OpenApiDocumentError(op_at, "an operation must be an object")
        if "operationId" in operation and not isinstance(operation["operationId"], str):
            raise OpenApiDocumentError(op_at + "/operationId", "must be a string")
        own = _check_parameters(resolver, operation.get("parameters"), op_at + "/parameters")
        in_path = {name for (name, where) in {**shared, **own} if where == "path"}
        missing = sorted(templated - in_path)
        if missing:
            raise OpenApiDocumentError(
                op_at + "/parameters",
                f"the path parameter {missing[0]!r} of {path} is not described",
            )
        if "requestBody" in operation:
            _check_request_body(resolver, operation["requestBody"], op_at + "/requestBody")
        if "responses" not in operation:
            if version.startswith("3.0"):
                raise OpenApiDocumentError(op_at + "/responses", "missing")
        elif not isinstance(operation["responses"], Mapping):
            raise OpenApiDocumentError(op_at + "/responses", "must be an object")
        security = operation.get("security")
        if security is not None and not isinstance(security, list):
            raise OpenApiDocumentError(op_at + "/security", "must be a list")


def _check_parameters(
    resolver: Resolver, parameters: Any, at: str
) -> dict[tuple[str, str], Mapping[str, Any]]:
    """The parameters by (name, in), each checked."""
    if parameters is None:
        return {}
    if not isinstance(parameters, list):
        raise OpenApiDocumentError(at, "must be a list")
    found: dict[tuple[str, str], Mapping[str, Any]] = {}
    for index, parameter in enumerate(parameters):
        parameter, p_at = resolver.resolve(parameter, f"{at}/{index}")
        if not isinstance(parameter, Mapping):
            raise OpenApiDocumentError(p_at, "a parameter must be an object")
        name, where = parameter.get("name"), parameter.get("in")
        if not isinstance(name, str) or not name:
            raise OpenApiDocumentError(p_at + "/name", "missing or not a string")
        if where not in PARAMETER_LOCATIONS:
            raise OpenApiDocumentError(
                p_at + "/in", f"must be one of {', '.join(PARAMETER_LOCATIONS)}"
            )
        if where == "header" and not HEADER_NAME.match(name):
            raise OpenApiDocumentError(p_at + "/name", f"{name!r} is not a header name")
        if where == "path" and parameter.get("required") is not True:
            raise OpenApiDocumentError(p_at + "/required", "a path parameter must be required")
        if "schema" in parameter and not isinstance(parameter["schema"], Mapping | bool):
            raise OpenApiDocumentError(p_at + "/schema", "must be a schema object")
        found[(name, where)] = parameter
    return found


def _check_request_body(resolver: Resolver, body: Any, at: str) -> None:
    body, at = resolver.resolve(body, at)
    if not isinstance(body, Mapping):
        raise OpenApiDocumentError(at, "a request body must be an object")
    content = body.get("content")
    if not isinstance(content, Mapping):
        raise OpenApiDocumentError(at + "/content", "missing or not an object")


def _check_security_scheme(resolver: Resolver, scheme: Any, at: str) -> None:
    scheme, at = resolver.resolve(scheme, at)
    if not isinstance(scheme, Mapping):
        raise OpenApiDocumentError(at, "a security scheme must be an object")
    kind = scheme.get("type")
    if kind not in ("apiKey", "http", "oauth2", "openIdConnect", "mutualTLS"):
        raise OpenApiDocumentError(
            at + "/type", "must be apiKey, http, oauth2, openIdConnect or mutualTLS"
        )
    if kind == "apiKey":
        if not isinstance(scheme.get("name"), str) or not scheme["name"]:
            raise OpenApiDocumentError(at + "/name", "missing or not a string")
        if scheme.get("in") not in ("query", "header", "cookie"):
            raise OpenApiDocumentError(at + "/in", "must be query, header or cookie")
        if scheme["in"] == "header" and not HEADER_NAME.match(scheme["name"]):
            raise OpenApiDocumentError(at + "/name", f"{scheme['name']!r} is not a header name")
    elif kind == "http" and not isinstance(scheme.get("scheme"), str):
        raise OpenApiDocumentError(at + "/scheme", "missing or not a string")
    elif kind == "oauth2" and not isinstance(scheme.get("flows"), Mapping):
        raise OpenApiDocumentError(at + "/flows", "missing or not an object")
