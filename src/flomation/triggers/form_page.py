"""A form trigger's page and its submissions, without the web framework: the fields of the
schema, the HTML page (Jinja2's sandboxed environment with autoescaping), and the checks that
turn a form-encoded or JSON submission into the flow's input or into per-field errors.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jinja2.sandbox import ImmutableSandboxedEnvironment
from jsonschema import Draft202012Validator

from flomation.triggers.config import FORM_MAX_FIELDS, FormConfig

# The hidden field a rendered page carries: a per-render id that makes a repeated submission
# of one page (a double click, a reload after posting) start no second execution.
SUBMISSION_FIELD = "_submission"
SUBMISSION_MAX = 64
_TRUE = ("on", "true", "1", "yes")
_FALSE = ("off", "false", "0", "no", "")


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    description: str | None
    kind: str  # text, number, integer, checkbox or select
    required: bool
    options: list[str] = field(default_factory=list)


def form_fields(config: FormConfig) -> list[FormField]:
    schema = config.form_schema
    required = set(schema.get("required", []))
    fields: list[FormField] = []
    for name, prop in schema["properties"].items():
        kind = (
            "select"
            if "enum" in prop
            else {
                "string": "text",
                "number": "number",
                "integer": "integer",
                "boolean": "checkbox",
            }[prop["type"]]
        )
        fields.append(
            FormField(
                name=name,
                label=str(prop.get("title") or name),
                description=str(prop["description"]) if prop.get("description") else None,
                kind=kind,
                required=name in required,
                options=[str(value) for value in prop.get("enum", [])],
            )
        )
    return fields


# --- checking a submission -------------------------------------------------------------------


@dataclass
class Checked:
    """The flow's input when `errors` is empty; otherwise a message per field name ('' for
    the form as a whole)."""

    values: dict[str, Any]
    errors: dict[str, str]
    submission: str | None = None


def parse_form_encoded(body: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """The posted pairs and the problems of the encoding itself (repeated or odd fields)."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=FORM_MAX_FIELDS + 5
        )
    except UnicodeDecodeError:
        return {}, {"": "the form data is not UTF-8"}
    except ValueError:
        return {}, {"": f"a form has at most {FORM_MAX_FIELDS} fields"}
    posted: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, value in pairs:
        if name in posted:
            errors[name] = "was given more than once"
        posted[name] = value
    return posted, errors


def _coerce(form_field: FormField, prop: dict[str, Any], raw: str) -> tuple[Any, str | None]:
    if form_field.kind == "select":
        for option in prop["enum"]:
            if str(option) == raw:
                return option, None
        return None, "is not one of the choices"
    if form_field.kind == "checkbox":
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True, None
        if lowered in _FALSE:
            return False, None
        return None, "must be checked or not"
    if form_field.kind == "integer":
        try:
            return int(raw.strip()), None
        except ValueError:
            return None, "must be a whole number"
    if form_field.kind == "number":
        try:
            number = float(raw.strip())
        except ValueError:
            return None, "must be a number"
        if not math.isfinite(number):
            return None, "must be a finite number"
        return (int(number) if number.is_integer() and "." not in raw else number), None
    return raw, None


def check_form_encoded(config: FormConfig, posted: dict[str, str]) -> Checked:
    """Browser submissions: every value is text, converted by the field's type. An unchecked
    checkbox is not sent at all, so a missing boolean is false; an empty optional field is
    left out."""
    properties = config.form_schema["properties"]
    fields = {item.name: item for item in form_fields(config)}
    submission = posted.pop(SUBMISSION_FIELD, None)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in posted:
        if name not in fields:
            errors[name[:64]] = "is not a field of this form"
    for name, form_field in fields.items():
        raw = posted.get(name)
        if form_field.kind == "checkbox":
            raw = raw if raw is not None else "false"
        if raw is None or (raw == "" and form_field.kind != "checkbox"):
            if form_field.required:
                errors[name] = "is required"
            continue
        value, problem = _coerce(form_field, properties[name], raw)
        if problem:
            errors[name] = problem
        else:
            values[name] = value
    checked = Checked(values=values, errors=errors, submission=_submission_id(submission))
    _check_schema(config, checked)
    return checked


def check_json(config: FormConfig, body: Any) -> Checked:
    """API clients: a JSON object of the fields with their JSON types, nothing else."""
    if not isinstance(body, dict):
        return Checked(values={}, errors={"": "the body must be a JSON object of the fields"})
    properties = config.form_schema["properties"]
    required = config.form_schema.get("required", [])
    errors = {name[:64]: "is not a field of this form" for name in body if name not in properties}
    for name in required:
        if name not in body:
            errors[name] = "is required"
    checked = Checked(values=dict(body), errors=errors)
    _check_schema(config, checked)
    return checked


def _check_schema(config: FormConfig, checked: Checked) -> None:
    """The schema's own rules (types, lengths, ranges, patterns) on the fields that passed."""
    present = {k: v for k, v in checked.values.items() if k not in checked.errors}
    validator = Draft202012Validator(config.form_schema)
    for error in validator.iter_errors(present):
        if error.validator == "required":
            continue  # reported above, per field
        path = list(error.absolute_path)
        name = str(path[0]) if path else ""
        checked.errors.setdefault(name, _plain(error.message))
    if checked.errors:
        checked.values = {}


def _plain(message: str) -> str:
    return message if len(message) <= 200 else message[:197] + "..."


def _submission_id(value: str | None) -> str | None:
    if not value or len(value) > SUBMISSION_MAX:
        return None
    if not all(ch.isalnum() or ch in "-_" for ch in value) or not value.isascii():
        return None
    return value


def new_submission_id() -> str:
    return secrets.token_urlsafe(18)


# --- the page --------------------------------------------------------------------------------

_ENV = ImmutableSandboxedEnvironment(autoescape=True)

# The template sits next to this module (no external assets: the page is self-contained).
_PAGE = _ENV.from_string((Path(__file__).parent / "form_page.html").read_text("utf-8"))


def render_form(
    config: FormConfig,
    *,
    nonce: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    """The form, empty or again with what was posted and the field errors."""
    fields = form_fields(config)
    names = {item.name for item in fields}
    errors = errors or {}
    # Problems that belong to no input (unknown fields, the encoding) are listed at the top.
    general = [
        f"{name} {message}" if name else message
        for name, message in errors.items()
        if name not in names
    ]
    return _PAGE.render(
        title=config.title,
        description=config.description,
        fields=fields,
        values=values or {},
        errors=errors,
        general=general,
        submission=new_submission_id(),
        nonce=nonce,
        done=None,
        output=None,
    )


def render_done(config: FormConfig, *, nonce: str, message: str, output: str | None) -> str:
    """The page after a submission: thanks, or the flow's answer for `respond: sync`."""
    return _PAGE.render(
        title=config.title,
        description=None,
        fields=[],
        values={},
        errors={},
        general=[],
        submission="",
        nonce=nonce,
        done=message,
        output=output,
    )
