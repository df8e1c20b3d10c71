"""The imported OpenAPI services a claim carries, rebuilt once per version: by the SHA-256 of
their canonical JSON, so a re-import (new content) is a new entry and an unchanged service is
never rebuilt. The runner never sees the OpenAPI document itself."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from flomation.engine.nodes.base import Connection
from flomation.integrations.openapi import ImportedService
from flomation.sized_lru import SizedLRU

__all__ = ["ClaimedServices", "claimed_services"]

_REBUILT = SizedLRU[str, ImportedService](
    max_entries=128, max_bytes=128 * 1024 * 1024, max_entry_bytes=32 * 1024 * 1024
)


class ClaimedServices:
    """The services of one claim: their versions (part of the plan's cache key) and types."""

    def __init__(self, services: Sequence[tuple[str, ImportedService]]) -> None:
        self.versions = tuple(sorted(digest for digest, _ in services))
        self.services = tuple(service for _, service in services)
        self._kinds = {service.connection_type.type: service for service in self.services}

    def connections(self, resolved: Mapping[str, Connection]) -> dict[str, Connection]:
        """`resolved` with each connection of an imported type rebuilt by that type, so only
        its secret fields are masked (a type the runner does not know masks every string)."""
        out = dict(resolved)
        for name, connection in resolved.items():
            service = self._kinds.get(connection.type)
            if service is not None:
                out[name] = service.connection_type.connection(
                    name, connection.values, connection.status
                )
        return out


def claimed_services(stored: Sequence[Mapping[str, Any]]) -> ClaimedServices:
    """Rebuild (or take from the cache) the services a claim carries. Raises `ValueError`
    for a stored form this version cannot read."""
    found = []
    for data in stored:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        service = _REBUILT.get(digest)
        if service is None:
            try:
                service = ImportedService.from_dict(data)
            except (KeyError, TypeError) as exc:
                raise ValueError(f"an imported service the runner cannot read: {exc!r}") from exc
            _REBUILT.put(digest, service, len(text))
        found.append((digest, service))
    return ClaimedServices(found)
