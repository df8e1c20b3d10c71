"""Runner-local connections: on-premise credentials that stay on the runner's host.

A connection named in a flow resolves first from the environment variable
`FLOMATION_CONNECTION_<NAME>` (the JSON `{"type", "values"}`), then from the `connections`
object of `--secrets-file` (`{"NAME": {"type", "values"}}`), then from what the API sent with
the claim. Whatever their source, their secret fields' values are masked by the engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from flomation.engine.nodes.base import Connection
from flomation.integrations.registry import make_connection
from flomation.protocol import ClaimedConnection, describe

ENV_PREFIX = "FLOMATION_CONNECTION_"
# The key of the secrets file whose object holds connections rather than a secret.
FILE_KEY = "connections"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class LocalConnectionError(ValueError):
    """A runner-local connection cannot be used; the message says why (never its values)."""


def parse_connection(name: str, value: Any, where: str) -> ClaimedConnection:
    """One `{"type", "values"}` read from `where` (a file or an environment variable)."""
    if not NAME.fullmatch(name):
        raise LocalConnectionError(f"connection name {name!r} in {where} must match {NAME.pattern}")
    if not isinstance(value, dict) or set(value) - {"type", "values"}:
        raise LocalConnectionError(
            f'connection {name!r} in {where} must be a JSON object {{"type", "values"}}'
        )
    try:
        return ClaimedConnection.model_validate({**value, "status": "ok"})
    except ValidationError as exc:
        # `describe` names the places at fault, not the values (they may be secret).
        raise LocalConnectionError(f"connection {name!r} in {where}: {describe(exc)}") from None


def from_environment(environ: Mapping[str, str]) -> dict[str, ClaimedConnection]:
    found: dict[str, ClaimedConnection] = {}
    for key, text in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :]
        try:
            value = json.loads(text)
        except ValueError:
            raise LocalConnectionError(
                f'{key} must hold the JSON {{"type", "values"}} of the connection'
            ) from None
        found[name] = parse_connection(name, value, key)
    return found


def from_file_section(section: Any, where: str) -> dict[str, ClaimedConnection]:
    if not isinstance(section, dict):
        raise LocalConnectionError(f"{FILE_KEY!r} in {where} must be a JSON object of names")
    return {name: parse_connection(name, value, where) for name, value in section.items()}


class LocalConnections:
    """The runner's own connections, read once at start."""

    def __init__(self, values: Mapping[str, ClaimedConnection] | None = None) -> None:
        self._values = dict(values or {})

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._values)

    def resolve(self, from_api: Mapping[str, ClaimedConnection]) -> dict[str, Connection]:
        """The connections an execution sees: the API's, overridden by the runner's own.

        Every local connection is offered, not only the referenced ones: nodes reach
        connections only by literal names in the definition, and the engine masks the secret
        fields of every connection it is given."""
        merged = {**from_api, **self._values}
        return {
            name: make_connection(name, item.type, item.values, item.status)
            for name, item in merged.items()
        }

    def __repr__(self) -> str:  # names only, never values
        return f"LocalConnections(names={sorted(self._values)})"
