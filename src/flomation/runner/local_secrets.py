"""Runner-local secrets: credentials that stay on the runner's host and never reach the API.

`secrets.NAME` resolves first from the environment variable `FLOMATION_SECRET_<NAME>`, then
from the JSON object in `--secrets-file`, then from what the API sent with the claim. The
file's `connections` object, and `FLOMATION_CONNECTION_<NAME>`, hold runner-local connections
(`runner.local_connections`), read here with the secrets so that one load reads the file once.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flomation.engine.nodes.base import Connection
from flomation.protocol import ClaimedConnection
from flomation.runner.local_connections import (
    FILE_KEY,
    LocalConnectionError,
    LocalConnections,
    from_environment,
    from_file_section,
)

ENV_PREFIX = "FLOMATION_SECRET_"
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class SecretsFileError(ValueError):
    """The secrets file cannot be used; the message says why."""


class LocalSecrets:
    """The runner's own secrets, read once at start."""

    def __init__(
        self, values: Mapping[str, str], connections: LocalConnections | None = None
    ) -> None:
        self._values = dict(values)
        self.local_connections = connections or LocalConnections()

    @classmethod
    def load(
        cls, *, environ: Mapping[str, str] | None = None, file: Path | None = None
    ) -> LocalSecrets:
        values: dict[str, str] = {}
        connections: dict[str, ClaimedConnection] = {}
        environ = os.environ if environ is None else environ
        try:
            if file is not None:
                file_values, section = _read_file(file)
                values.update(file_values)
                if section is not None:
                    connections.update(from_file_section(section, str(file)))
            connections.update(from_environment(environ))
        except LocalConnectionError as exc:
            raise SecretsFileError(str(exc)) from None
        for key, value in environ.items():
            if key.startswith(ENV_PREFIX) and NAME.match(key[len(ENV_PREFIX) :]):
                values[key[len(ENV_PREFIX) :]] = value
        return cls(values, LocalConnections(connections))

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._values)

    def resolve(self, from_api: Mapping[str, str]) -> dict[str, str]:
        """The secrets an execution sees: the API's, overridden by the runner's own.

        Every local secret is offered, not only the referenced ones: nodes reach secrets only
        by literal names in the definition, and the engine masks every value it is given.
        """
        return {**from_api, **self._values}

    def connections(self, from_api: Mapping[str, ClaimedConnection]) -> dict[str, Connection]:
        """The connections an execution sees: the API's, overridden by the runner's own."""
        return self.local_connections.resolve(from_api)

    def __repr__(self) -> str:  # names only, never values
        return (
            f"LocalSecrets(names={sorted(self._values)}, "
            f"connections={sorted(self.local_connections.names)})"
        )


def _read_file(path: Path) -> tuple[dict[str, str], Any]:
    """(secrets, the `connections` object or None) of the secrets file."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise SecretsFileError(f"cannot read the secrets file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise SecretsFileError(f"the secrets file {path} is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SecretsFileError(f"the secrets file {path} must hold one JSON object of names")
    values: dict[str, str] = {}
    section = None
    for name, value in document.items():
        if name == FILE_KEY and isinstance(value, dict):
            section = value
            continue
        if not NAME.match(name):
            raise SecretsFileError(f"secret name {name!r} in {path} must match {NAME.pattern}")
        if not isinstance(value, str):
            raise SecretsFileError(f"secret {name!r} in {path} must be a string")
        values[name] = value
    return values, section
