"""Rules for connections. Decrypted values leave this module only towards runners
(`resolve_for_runner`); every answer to a user goes through `_view`, which puts `"***"` in
place of each secret field's value."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from jsonschema import ValidationError as SchemaError
from jsonschema.validators import validator_for
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.connections import imported, repository
from flomation.connections.references import (
    ConnectionUse,
    connection_uses,
    referenced_connections,
)
from flomation.connections.schemas import MASK, ConnectionTypeView, ConnectionView
from flomation.errors import NotFound, ValidationFailed
from flomation.integrations.base import ConnectionType
from flomation.integrations.registry import connection_types
from flomation.models.connections import Connection
from flomation.pagination import Page, PageParams, make_page
from flomation.protocol import ClaimedConnection
from flomation.secrets.crypto import Keyring, default_keyring
from flomation.secrets.service import check_name

__all__ = [
    "ConnectionUse",
    "connection_uses",
    "decrypt_values",
    "delete_connection",
    "get_connection",
    "list_connection_types",
    "list_connections",
    "put_connection",
    "referenced_connections",
    "resolve_for_runner",
    "rotate_key",
    "types_by_name",
    "values_for_runner",
]


def list_connection_types() -> list[ConnectionTypeView]:
    return [ConnectionTypeView.model_validate(item) for item in connection_types().describe()]


async def list_organization_connection_types(
    session: AsyncSession, organization_id: str
) -> list[ConnectionTypeView]:
    """Built-in and plugin types, and the organisation's imported OpenAPI services'."""
    registry = await imported.organization_connection_types(session, organization_id)
    return [ConnectionTypeView.model_validate(item) for item in registry.describe()]


# --------------------------------------------------------------------------- values at rest


def _aad_name(name: str) -> str:
    # Secret names cannot hold ":", so no connection's ciphertext opens as a secret's.
    return f"connection:{name}"


def _encrypt(
    keyring: Keyring, organization_id: str, name: str, values: Mapping[str, Any]
) -> tuple[bytes, bytes]:
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return keyring.encrypt(organization_id, _aad_name(name), text)


def _decrypt(keyring: Keyring, row: Connection) -> dict[str, Any]:
    text = keyring.decrypt(row.organization_id, _aad_name(row.name), row.nonce, row.ciphertext)
    values = json.loads(text)
    return values if isinstance(values, dict) else {}


def decrypt_values(row: Connection, keyring: Keyring | None = None) -> dict[str, Any]:
    """A stored connection's values in clear: for runners only (claims and probes)."""
    return _decrypt(keyring or default_keyring(), row)


def _secret_fields(
    type_name: str, values: Mapping[str, Any], kind: ConnectionType | None = None
) -> frozenset[str]:
    """The type's secret fields; for a type this process does not know (a plugin removed,
    an imported service deleted), every string field, since which are secret is unknown."""
    known = kind or connection_types().get(type_name)
    if known is not None:
        return known.secret_fields
    return frozenset(key for key, value in values.items() if isinstance(value, str))


def _view(
    row: Connection, values: Mapping[str, Any], kind: ConnectionType | None = None
) -> ConnectionView:
    secret = _secret_fields(row.type, values, kind)
    shown = {
        key: (MASK if key in secret and value not in (None, "") else value)
        for key, value in values.items()
    }
    return ConnectionView(
        name=row.name,
        type=row.type,
        values=shown,
        status=row.status,
        updated_at=row.updated_at,
        last_tested_at=row.last_tested_at,
        last_error=row.last_error,
    )


# --------------------------------------------------------------------------- validation


def _connection_type(type_name: str) -> ConnectionType:
    known = connection_types().get(type_name)
    if known is None:
        available = ", ".join(sorted(connection_types().names())) or "none"
        raise ValidationFailed(
            f"Unknown connection type {type_name!r} (available: {available})",
            errors=[{"loc": ["body", "type"], "msg": f"unknown connection type {type_name!r}"}],
        )
    return known


async def _organization_connection_type(
    session: AsyncSession, organization_id: str, type_name: str
) -> ConnectionType:
    """A built-in or plugin type, or one of the organisation's imported OpenAPI services
    (`openapi.<name>`), whose schema the values are then checked against."""
    if imported.service_of(type_name) is not None and type_name not in connection_types():
        kind = await imported.connection_kind(session, organization_id, type_name)
        if kind is None:
            raise ValidationFailed(
                f"Unknown connection type {type_name!r}: no OpenAPI service of that name was "
                "imported (POST /connection-types/openapi)",
                errors=[{"loc": ["body", "type"], "msg": f"unknown connection type {type_name!r}"}],
            )
        return kind
    return _connection_type(type_name)


def _keep_stored_secrets(
    kind: ConnectionType, values: Mapping[str, Any], stored: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`values` with each secret field sent as `"***"` replaced by its stored value."""
    merged = dict(values)
    missing = []
    for field_name in sorted(kind.secret_fields):
        if merged.get(field_name) != MASK:
            continue
        if stored is not None and field_name in stored:
            merged[field_name] = stored[field_name]
        else:
            missing.append(field_name)
    if missing:
        raise ValidationFailed(
            f'{", ".join(missing)}: "***" keeps a stored value, and there is none to keep',
            errors=[
                {"loc": ["body", "values", name], "msg": '"***" keeps a stored value; none is'}
                for name in missing
            ],
        )
    return merged


def _schema_problems(kind: ConnectionType, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every place `values` breaks the type's schema, as `{loc, msg}` naming the field. A
    secret field's message never quotes its value."""
    validator_class = validator_for(kind.schema)
    validator = validator_class(kind.schema)
    problems: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, ...], str]] = set()
    errors: list[SchemaError] = sorted(
        validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path]
    )
    for error in errors:
        for path, msg in _located(kind, error):
            key = (path, msg)
            if key not in seen:
                seen.add(key)
                problems.append({"loc": ["body", "values", *path], "msg": msg})
    return problems


def _located(kind: ConnectionType, error: SchemaError) -> list[tuple[tuple[str, ...], str]]:
    path = tuple(str(part) for part in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        required = error.validator_value if isinstance(error.validator_value, list) else []
        return [
            ((*path, str(name)), "is required") for name in required if name not in error.instance
        ]
    if path and path[0] in kind.secret_fields:
        return [(path, f"does not fit the schema ({error.validator})")]
    return [(path, error.message)]


def _check_values(kind: ConnectionType, values: Mapping[str, Any]) -> None:
    problems = _schema_problems(kind, values)
    if problems:
        where = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'][2:]) or 'values'}: {item['msg']}"
            for item in problems
        )
        raise ValidationFailed(
            f"The values do not fit connection type {kind.type!r}: {where}", errors=problems
        )


# --------------------------------------------------------------------------- calls


async def put_connection(
    session: AsyncSession,
    *,
    organization_id: str,
    name: str,
    type_name: str,
    values: Mapping[str, Any],
    keyring: Keyring | None = None,
) -> ConnectionView:
    """Check and store encrypted; 422 naming the field when the values break the schema."""
    check_name(name, "Connection")
    kind = await _organization_connection_type(session, organization_id, type_name)
    ring = keyring or default_keyring()
    row = await repository.get(session, organization_id, name)
    stored = _decrypt(ring, row) if row is not None else None
    same_type = row is not None and row.type == kind.type
    merged = _keep_stored_secrets(kind, values, stored if same_type else None)
    _check_values(kind, merged)
    nonce, ciphertext = _encrypt(ring, organization_id, name, merged)
    changed = not same_type or stored != merged
    row = await repository.put(
        session, organization_id, name, kind.type, nonce, ciphertext, values_changed=changed
    )
    return _view(row, merged, kind)


async def get_connection(
    session: AsyncSession, *, organization_id: str, name: str, keyring: Keyring | None = None
) -> ConnectionView:
    check_name(name, "Connection")
    row = await repository.get(session, organization_id, name)
    if row is None:
        raise NotFound(f"No connection {name!r}")
    kinds = await imported.connection_kinds(session, organization_id, [row.type])
    return _view(row, _decrypt(keyring or default_keyring(), row), kinds.get(row.type))


async def list_connections(
    session: AsyncSession,
    *,
    organization_id: str,
    page: PageParams[Any],
    keyring: Keyring | None = None,
) -> Page[ConnectionView]:
    ring = keyring or default_keyring()
    rows = await repository.list_page(session, organization_id, page)
    kinds = await imported.connection_kinds(session, organization_id, {row.type for row in rows})
    return make_page(
        rows,
        page,
        key=lambda row: row.name,
        item=lambda row: _view(row, _decrypt(ring, row), kinds.get(row.type)),
    )


async def delete_connection(session: AsyncSession, *, organization_id: str, name: str) -> None:
    check_name(name, "Connection")
    if not await repository.delete_one(session, organization_id, name):
        raise NotFound(f"No connection {name!r}")


async def types_by_name(session: AsyncSession, organization_id: str) -> dict[str, str]:
    """`{name: type}` of the organisation's connections: what flow validation checks."""
    return await repository.types_by_name(session, organization_id)


async def resolve_for_runner(
    session: AsyncSession,
    organization_id: str,
    names: Collection[str],
    *,
    keyring: Keyring | None = None,
) -> dict[str, ClaimedConnection]:
    """The decrypted connections among `names` (those an execution's flow references). Names
    the organisation does not hold are left out (a runner may hold them locally)."""
    ring = keyring or default_keyring()
    claimed: dict[str, ClaimedConnection] = {}
    # By name: refreshes lock their rows in one order, so two claims never deadlock.
    rows = sorted(await repository.named(session, organization_id, names), key=lambda r: r.name)
    for row in rows:
        values = _decrypt(ring, row)
        row, values = await _with_fresh_token(session, row, values, ring)
        claimed[row.name] = ClaimedConnection(type=row.type, values=values, status=row.status)
    return claimed


async def values_for_runner(
    session: AsyncSession, row: Connection, keyring: Keyring | None = None
) -> dict[str, Any]:
    """A stored connection's values in clear for a runner (a probe), an OAuth 2 one's with a
    valid access token."""
    ring = keyring or default_keyring()
    _, values = await _with_fresh_token(session, row, _decrypt(ring, row), ring)
    return values


async def _with_fresh_token(
    session: AsyncSession, row: Connection, values: dict[str, Any], ring: Keyring
) -> tuple[Connection, dict[str, Any]]:
    """The values as a runner gets them: an OAuth 2 connection's with a valid access token
    and without what only the API uses (`connections.oauth`)."""
    from flomation.connections.oauth import fresh_for_claim  # oauth builds on this module

    return await fresh_for_claim(session, row, values, ring)


async def rotate_key(session: AsyncSession, keyring: Keyring) -> tuple[int, int]:
    """Re-encrypt every connection that the current key does not open yet under the current
    key (its `key_version` + 1). Idempotent. Returns (re-encrypted, already current). Raises
    when a connection opens with neither key."""
    rotated = current = 0
    for row in await repository.all_for_update(session):
        org, aad = row.organization_id, _aad_name(row.name)
        if keyring.open_with_current(org, aad, row.nonce, row.ciphertext) is not None:
            current += 1
            continue
        text = keyring.decrypt(org, aad, row.nonce, row.ciphertext)
        row.nonce, row.ciphertext = keyring.encrypt(org, aad, text)
        row.key_version += 1
        rotated += 1
    await session.flush()
    return rotated, current
