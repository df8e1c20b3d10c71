"""The csv integration: `csv.parse` (text to rows) and `csv.build` (rows to text), with the
standard library's csv module; no connection (rules in `integrations.base`).

Values stay text when parsed (no guessing of numbers or dates: `"007"` and `"1e3"` survive);
quoted fields may hold the delimiter, quotes and line breaks. With `header`, rows are objects
keyed by the first line's names; without, lists. Built text ends lines with `\\n` and quotes
only the fields that need it.
"""

from __future__ import annotations

import csv as csv_module
import io
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from flomation.engine.nodes.base import ConfigError, NodeContext, NodeOutcome, NodeType
from flomation.integrations.base import ConnectionType

__all__ = ["CONNECTION_TYPES", "NODE_TYPES", "CsvBuildNode", "CsvParseNode"]

_DELIMITER = {
    "type": "string",
    "title": "Delimiter",
    "minLength": 1,
    "maxLength": 1,
    "default": ",",
    "description": 'One character: "," ";" "\\t" "|" ...',
}
_FORBIDDEN_DELIMITERS = frozenset({'"', "\r", "\n"})


def _delimiter(config: Mapping[str, Any]) -> str:
    delimiter = config.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ConfigError(f"delimiter must be one character, got {delimiter!r}", field="delimiter")
    if delimiter in _FORBIDDEN_DELIMITERS:
        raise ConfigError("delimiter cannot be a double quote or a line break", field="delimiter")
    return delimiter


def _header(config: Mapping[str, Any]) -> bool:
    header = config.get("header", True)
    if not isinstance(header, bool):
        raise ConfigError(f"header must be true or false, got {header!r}", field="header")
    return header


def _check_delimiter(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    delimiter = config.get("delimiter")
    if isinstance(delimiter, str) and delimiter in _FORBIDDEN_DELIMITERS:
        return [("delimiter", "delimiter cannot be a double quote or a line break")]
    return []


class _CsvNode(NodeType):
    """What both csv nodes share: the delimiter and header settings, and reading the one input
    (`input_field`, of `input_type`) that `convert` turns into the one output."""

    icon = "table"
    group = "csv"
    pure = True
    retryable = False
    input_field: ClassVar[str]
    input_type: ClassVar[type]
    input_noun: ClassVar[str]
    output_field: ClassVar[str]

    @staticmethod
    def convert(value: Any, delimiter: str, header: bool) -> Any:
        raise NotImplementedError

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        return _check_delimiter(config)

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        value = ctx.config.get(self.input_field)
        if not isinstance(value, self.input_type):
            raise ConfigError(
                f"{self.input_field} must be {self.input_noun}, got {type(value).__name__}",
                field=self.input_field,
            )
        output = self.convert(value, _delimiter(ctx.config), _header(ctx.config))
        return NodeOutcome({self.output_field: output})


# --------------------------------------------------------------------------- parse


def parse_csv(text: str, delimiter: str = ",", header: bool = True) -> list[Any]:
    """CSV text as rows: objects keyed by the header line's names, or lists of strings.
    Blank lines are skipped; in an object, a field missing at the end of a line is null.
    Raises `ConfigError` naming the line of a malformed row."""
    reader = csv_module.reader(
        io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter, strict=True
    )
    names: list[str] | None = None
    rows: list[Any] = []
    try:
        for record in reader:
            if not record:
                continue
            if not header:
                rows.append(record)
            elif names is None:
                names = _header_names(record)
            else:
                if len(record) > len(names):
                    raise ConfigError(
                        f"line {reader.line_num} has {len(record)} fields but the header "
                        f"names {len(names)}",
                        field="text",
                    )
                row: dict[str, Any] = dict.fromkeys(names)
                row.update(zip(names, record, strict=False))
                rows.append(row)
    except csv_module.Error as exc:
        raise ConfigError(
            f"the CSV text is malformed at line {reader.line_num}: {exc}", field="text"
        ) from None
    return rows


def _header_names(record: list[str]) -> list[str]:
    seen: set[str] = set()
    for name in record:
        if name in seen:
            raise ConfigError(
                f"the header names {name!r} twice; give each column its own name or use "
                "header: false",
                field="text",
            )
        seen.add(name)
    return record


class CsvParseNode(_CsvNode):
    type = "csv.parse"
    title = "Parse CSV"
    description = (
        "Turns CSV text into rows: objects keyed by the header line, or lists of values. "
        "Values stay text."
    )
    config_schema = {
        "type": "object",
        "properties": {
            "text": {"type": "string", "title": "CSV text"},
            "delimiter": _DELIMITER,
            "header": {
                "type": "boolean",
                "title": "First line is a header",
                "default": True,
            },
        },
        "required": ["text"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {
            "rows": {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
                        {"type": "array", "items": {"type": "string"}},
                    ]
                },
            }
        },
        "required": ["rows"],
    }

    input_field = "text"
    input_type = str
    input_noun = "CSV text"
    output_field = "rows"

    @staticmethod
    def convert(value: Any, delimiter: str, header: bool) -> Any:
        return parse_csv(value, delimiter, header)


# --------------------------------------------------------------------------- build


def _cell(value: Any) -> str:
    """A JSON value as one CSV field: text as is, null empty, numbers and booleans as JSON
    writes them, objects and lists as JSON text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def build_csv(rows: list[Any], delimiter: str = ",", header: bool = True) -> str:
    """Rows as CSV text. With `header`, rows are objects and the columns are their keys in
    the order they first appear; without, rows are lists. Raises `ConfigError` naming a row
    of the wrong shape."""
    out = io.StringIO()
    writer = csv_module.writer(out, delimiter=delimiter, lineterminator="\n")
    if header:
        columns: dict[str, None] = {}
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise ConfigError(
                    f"rows[{index}] is not an object; with header: true each row is an object "
                    "(use header: false for lists)",
                    field="rows",
                )
            columns.update(dict.fromkeys(str(key) for key in row))
        if columns:
            writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(column)) for column in columns])
    else:
        for index, row in enumerate(rows):
            if not isinstance(row, list):
                raise ConfigError(
                    f"rows[{index}] is not a list; with header: false each row is a list of values",
                    field="rows",
                )
            writer.writerow([_cell(value) for value in row])
    return out.getvalue()


class CsvBuildNode(_CsvNode):
    type = "csv.build"
    title = "Build CSV"
    description = (
        "Turns rows (objects, or lists without a header) into CSV text; the header is the "
        "objects' keys in the order they first appear."
    )
    config_schema = {
        "type": "object",
        "properties": {
            "rows": {
                "title": "Rows",
                "description": "A list of objects (or of lists, without a header); usually "
                "a template such as {{ nodes.query.output.rows }}.",
                "type": "array",
            },
            "delimiter": _DELIMITER,
            "header": {"type": "boolean", "title": "Write a header line", "default": True},
        },
        "required": ["rows"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
    }

    input_field = "rows"
    input_type = list
    input_noun = "a list"
    output_field = "text"

    @staticmethod
    def convert(value: Any, delimiter: str, header: bool) -> Any:
        return build_csv(value, delimiter, header)


CONNECTION_TYPES: tuple[ConnectionType, ...] = ()
NODE_TYPES: tuple[type[NodeType], ...] = (CsvParseNode, CsvBuildNode)
