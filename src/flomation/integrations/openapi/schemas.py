"""OpenAPI schema objects as the JSON Schema (2020-12) that flow validation and the editor use.

A named schema (`$ref` to `#/components/schemas/Pet`, or anywhere in the document) becomes one
entry of a node type's `$defs` and every use of it `{"$ref": "#/$defs/Pet"}`: each is
converted once per document and shared by the node types that use it, so a recursive schema
(a tree of categories) stays recursive instead of unrolling forever, and a document whose
hundreds of operations use one large graph of schemas holds that graph once. OpenAPI 3.0's
dialect is mapped where it differs (`nullable`, boolean `exclusiveMinimum`, tuple `items`);
keywords that only document (`example`, `xml`, `discriminator`, `x-*`) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flomation.integrations.openapi.document import OpenApiDocumentError, Resolver, pointer

__all__ = ["SchemaConverter"]

_SCHEMA_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)
_SCHEMA_VALUES = frozenset(
    {
        "items",
        "additionalProperties",
        "additionalItems",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SUBSCHEMAS = _SCHEMA_MAPS | _SCHEMA_VALUES | _SCHEMA_LISTS
_DROPPED = frozenset({"example", "xml", "discriminator", "externalDocs", "nullable"})
_DEF_NAME = re.compile(r"[^A-Za-z0-9_.-]")


class SchemaConverter:
    """Converts the schemas of one document. Each named schema is converted once for all
    the node types (`defs`); `defs_for` gives the ones a node type's schemas need."""

    def __init__(self, resolver: Resolver, version: str) -> None:
        self.resolver = resolver
        self.openapi_30 = version == "3.0"
        self.defs: dict[str, Any] = {}
        self._names: dict[str, str] = {}
        # The named schemas each named schema refers to directly.
        self._deps: dict[str, set[str]] = {}

    def convert(self, schema: Any, at: str, uses: set[str]) -> Any:
        """The converted schema (checked, see `_check_keywords`); `at` is where it is in the
        document, for errors; the names of the schemas it refers to go in `uses`."""
        return self._convert(schema, at, uses)

    def defs_for(self, uses: set[str]) -> dict[str, Any]:
        """The `$defs` of a schema that refers to `uses`: those and what they refer to."""
        reached: set[str] = set()
        todo = list(uses)
        while todo:
            name = todo.pop()
            if name not in reached:
                reached.add(name)
                todo.extend(self._deps.get(name, ()))
        return {name: value for name, value in self.defs.items() if name in reached}

    def _convert(self, schema: Any, at: str, uses: set[str]) -> Any:
        if isinstance(schema, bool):
            return schema
        if not isinstance(schema, Mapping):
            raise OpenApiDocumentError(at, "a schema must be an object")
        if "$ref" in schema:
            name = self._ref(schema["$ref"], at + "/$ref")
            uses.add(name)
            ref = {"$ref": f"#/$defs/{name}"}
            if self.openapi_30:
                return ref  # 3.0: whatever sits beside a $ref is ignored
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            return {**ref, **self._keywords(siblings, at, uses)} if siblings else ref
        return self._keywords(schema, at, uses)

    def _keywords(self, schema: Mapping[str, Any], at: str, uses: set[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in _DROPPED or key.startswith("x-"):
                continue
            if key in _SUBSCHEMAS:
                out[_renamed(key, value)] = self._subschemas(key, value, at + pointer(key), uses)
            elif key == "type" and value == "file":
                out[key] = "string"  # Swagger 2's upload type, met in converted documents
            else:
                out[key] = value
        if self.openapi_30:
            _exclusive_bounds(out)
            if schema.get("nullable") is True:
                _allow_null(out)
        _check_keywords(out, at)
        return out

    def _subschemas(self, key: str, value: Any, here: str, uses: set[str]) -> Any:
        """A keyword whose value holds schemas: one, a list, or an object of them."""
        if key in _SCHEMA_MAPS:
            if not isinstance(value, Mapping):
                raise OpenApiDocumentError(here, f"not a valid schema: {key} must be an object")
            return {
                name: self._convert(sub, here + pointer(name), uses) for name, sub in value.items()
            }
        if key in _SCHEMA_LISTS or (key == "items" and isinstance(value, list)):
            if not isinstance(value, list):
                raise OpenApiDocumentError(here, f"not a valid schema: {key} must be a list")
            return [self._convert(sub, f"{here}/{i}", uses) for i, sub in enumerate(value)]
        return self._convert(value, here, uses)

    def _ref(self, ref: Any, at: str) -> str:
        """The `$defs` name of what `ref` names, converting it the first time."""
        value, target = self.resolver.lookup(ref, at)
        name = self._names.get(target)
        if name is None:
            name = self._def_name(target)
            self._names[target] = name
            # Taken before converting, so that a schema that contains itself finds its name.
            self.defs[name] = True
            deps: set[str] = set()
            self._deps[name] = deps
            self.defs[name] = self._convert(value, target, deps)
        return name

    def _def_name(self, target: str) -> str:
        prefix = "/components/schemas/"
        base = target[len(prefix) :] if target.startswith(prefix) else target.strip("/")
        base = _DEF_NAME.sub("_", base.replace("~1", "_").replace("~0", "_")) or "schema"
        name, n = base, 1
        while name in self.defs:
            n += 1
            name = f"{base}_{n}"
        return name


def _renamed(key: str, value: Any) -> str:
    # Draft 4's tuple form (`items` as a list) is `prefixItems` in 2020-12.
    return "prefixItems" if key == "items" and isinstance(value, list) else key


def _exclusive_bounds(out: dict[str, Any]) -> None:
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(flag)
        if isinstance(value, bool):
            del out[flag]
            if value and bound in out:
                out[flag] = out.pop(bound)


def _allow_null(out: dict[str, Any]) -> None:
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]


_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
_COUNTS = frozenset(
    {
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "minContains",
        "maxContains",
    }
)
_NUMBERS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})


def _check_keywords(out: Mapping[str, Any], at: str) -> None:
    """Refuses what would break validation later, when a flow is saved: a `type` that is no
    type, `"required": true`, a `pattern` that is no regex, a bound that is no number. This
    is the part of the meta-schema check that matters here (subschemas are checked as they
    are converted); jsonschema's own check of the 2020-12 meta-schema costs about 10 ms for
    a 60-property schema, which made a 5 MiB document of 1,150 operations take 12 s to
    import (1.6 s now)."""

    def refuse(key: str, why: str) -> OpenApiDocumentError:
        return OpenApiDocumentError(at + pointer(key), f"not a valid schema: {why}")

    if "type" in out:
        kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
        names = [k for k in kinds if isinstance(k, str) and k in _TYPES]
        if not kinds or len(names) != len(kinds) or len(set(names)) != len(names):
            raise refuse("type", f"{out['type']!r} is not a type or a list of distinct types")
    required = out.get("required", [])
    if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
        raise refuse("required", "must be a list of property names")
    if "enum" in out and not isinstance(out["enum"], list):
        raise refuse("enum", "must be a list")
    for key in _COUNTS & out.keys():
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise refuse(key, "must be a whole number, 0 or more")
    for key in _NUMBERS & out.keys():
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise refuse(key, "must be a number")
        if key == "multipleOf" and value <= 0:
            raise refuse(key, "must be more than 0")
    for key in ("uniqueItems", "readOnly", "writeOnly", "deprecated"):
        if key in out and not isinstance(out[key], bool):
            raise refuse(key, "must be true or false")
    for key, pattern in _patterns(out):
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise refuse(key, f"{pattern!r} is not a regular expression ({exc})") from None


def _patterns(out: Mapping[str, Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if "pattern" in out:
        found.append(("pattern", out["pattern"]))
    for pattern in out.get("patternProperties") or {}:
        found.append(("patternProperties", pattern))
    return found
