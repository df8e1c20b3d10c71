"""Rules for variables and secrets. Secret values leave this module only towards runners
(`resolve_for_runner`) and other domains' server-side needs (`get_secret_value`); no function
that answers a user returns one."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.errors import NotFound, ValidationFailed
from flomation.secrets import repository
from flomation.secrets.crypto import Keyring, default_keyring
from flomation.secrets.schemas import NAME_PATTERN, SecretView, VariableView

__all__ = [
    "check_name",
    "delete_secret",
    "delete_variable",
    "get_secret_value",
    "get_variable",
    "list_secrets",
    "list_variables",
    "put_secret",
    "put_variable",
    "resolve_for_runner",
    "rotate_key",
]


def check_name(name: str, kind: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise ValidationFailed(
            f"{kind} name {name!r} is not valid: use letters, digits and _, not starting with a "
            "digit, at most 64 characters",
            errors=[{"loc": ["path", "name"], "msg": "must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$"}],
        )


# --------------------------------------------------------------------------- variables


def _variable_view(variable: Any) -> VariableView:
    return VariableView(
        name=variable.name,
        value=variable.value,
        created_at=variable.created_at,
        updated_at=variable.updated_at,
    )


async def put_variable(
    session: AsyncSession, *, organization_id: str, name: str, value: Any
) -> VariableView:
    check_name(name, "Variable")
    return _variable_view(await repository.put_variable(session, organization_id, name, value))


async def get_variable(session: AsyncSession, *, organization_id: str, name: str) -> VariableView:
    check_name(name, "Variable")
    variable = await repository.get_variable(session, organization_id, name)
    if variable is None:
        raise NotFound(f"No variable {name!r}")
    return _variable_view(variable)


async def list_variables(session: AsyncSession, *, organization_id: str) -> list[VariableView]:
    return [_variable_view(v) for v in await repository.list_variables(session, organization_id)]


async def delete_variable(session: AsyncSession, *, organization_id: str, name: str) -> None:
    check_name(name, "Variable")
    if not await repository.delete_variable(session, organization_id, name):
        raise NotFound(f"No variable {name!r}")


# --------------------------------------------------------------------------- secrets


def _secret_view(secret: Any) -> SecretView:
    return SecretView(name=secret.name, created_at=secret.created_at, updated_at=secret.updated_at)


async def put_secret(
    session: AsyncSession,
    *,
    organization_id: str,
    name: str,
    value: str,
    keyring: Keyring | None = None,
) -> SecretView:
    """Encrypt and store; the answer names the secret and its dates, never its value."""
    check_name(name, "Secret")
    nonce, ciphertext = (keyring or default_keyring()).encrypt(organization_id, name, value)
    secret = await repository.put_secret(session, organization_id, name, nonce, ciphertext)
    return _secret_view(secret)


async def list_secrets(session: AsyncSession, *, organization_id: str) -> list[SecretView]:
    return [_secret_view(s) for s in await repository.list_secrets(session, organization_id)]


async def delete_secret(session: AsyncSession, *, organization_id: str, name: str) -> None:
    check_name(name, "Secret")
    if not await repository.delete_secret(session, organization_id, name):
        raise NotFound(f"No secret {name!r}")


async def get_secret_value(
    session: AsyncSession, organization_id: str, name: str, *, keyring: Keyring | None = None
) -> str | None:
    """The decrypted value, or None when the organisation has no such secret. For server-side
    use only (webhook HMAC and bearer checks, S3 and Git credentials)."""
    secret = await repository.get_secret(session, organization_id, name)
    if secret is None:
        return None
    return (keyring or default_keyring()).decrypt(
        organization_id, name, secret.nonce, secret.ciphertext
    )


async def resolve_for_runner(
    session: AsyncSession,
    organization_id: str,
    variable_names: Collection[str],
    secret_names: Collection[str],
    *,
    keyring: Keyring | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(variables, decrypted secrets) among the names an execution's definition references.
    Names the organisation does not hold are left out (a runner may hold secrets locally)."""
    variables = {
        v.name: v.value
        for v in await repository.variables_named(session, organization_id, variable_names)
    }
    ring = keyring or default_keyring()
    secrets = {
        s.name: ring.decrypt(organization_id, s.name, s.nonce, s.ciphertext)
        for s in await repository.secrets_named(session, organization_id, secret_names)
    }
    return variables, secrets


async def rotate_key(session: AsyncSession, keyring: Keyring) -> tuple[int, int]:
    """Re-encrypt every secret that the current key does not open yet under the current key
    (its `key_version` + 1). Idempotent: a second run finds nothing to do. Returns
    (re-encrypted, already current). Raises when a secret opens with neither key."""
    rotated = current = 0
    for secret in await repository.all_secrets_for_update(session):
        org, name = secret.organization_id, secret.name
        if keyring.open_with_current(org, name, secret.nonce, secret.ciphertext) is not None:
            current += 1
            continue
        value = keyring.decrypt(org, name, secret.nonce, secret.ciphertext)
        secret.nonce, secret.ciphertext = keyring.encrypt(org, name, value)
        secret.key_version += 1
        rotated += 1
    await session.flush()
    return rotated, current
