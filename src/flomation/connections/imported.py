"""Imported OpenAPI services of an organisation: importing a document (in a worker thread,
since it is CPU work), the stored services, and the registries an organisation sees (its
node types and connection types: Flomation's own plus its imported ones).

A service is stored as `ImportedService.to_dict()` with the SHA-256 of its canonical JSON;
rebuilding one (`ImportedService.from_dict`) is cached by that hash, so a re-import is a new
entry and nothing is rebuilt twice while it stays the same. Node types are named
`openapi.<service>.<operation>`, connection types `openapi.<service>`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.connections import imported_repository as repository
from flomation.connections.schemas import (
    ConnectionTypeView,
    ImportedServiceSummary,
    ImportedServiceView,
)
from flomation.engine.nodes.registry import NodeRegistry
from flomation.errors import Conflict, NotFound, ValidationFailed
from flomation.integrations.base import ConnectionType
from flomation.integrations.openapi import (
    NAME_PATTERN,
    ImportedService,
    OpenApiDocumentError,
    connection_type_registry,
    import_openapi,
    node_registry,
)
from flomation.integrations.registry import ConnectionTypeRegistry
from flomation.sized_lru import SizedLRU

__all__ = [
    "PREFIX",
    "claimed_services",
    "connection_kind",
    "content_hash",
    "delete_service",
    "import_service",
    "list_services",
    "organization_connection_types",
    "organization_node_registry",
    "organization_node_types",
    "probed_service",
    "referenced_services",
    "service_of",
]

PREFIX = "openapi."

# Rebuilt services by content hash. A service of a 5 MiB document weighs a few MiB as JSON;
# the bound keeps a busy API's copies under 256 MiB whatever the organisations import.
_REBUILT = SizedLRU[str, ImportedService](
    max_entries=256, max_bytes=256 * 1024 * 1024, max_entry_bytes=32 * 1024 * 1024
)


def content_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a stored service (as `flows.service.content_hash`)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def service_of(type_name: str) -> str | None:
    """The service a node type (`openapi.<service>.<operation>`) or connection type
    (`openapi.<service>`) belongs to, or None for any other type."""
    if not type_name.startswith(PREFIX):
        return None
    service = type_name[len(PREFIX) :].split(".", 1)[0]
    return service if NAME_PATTERN.match(service) else None


def referenced_services(definition: Any) -> frozenset[str]:
    """The imported services whose node types a flow definition uses (malformed nodes are
    skipped: the flow's validation reports them)."""
    if not isinstance(definition, dict) or not isinstance(definition.get("nodes"), list):
        return frozenset()
    found = set()
    for node in definition["nodes"]:
        if isinstance(node, dict) and isinstance(node.get("type"), str):
            service = service_of(node["type"])
            if service is not None:
                found.add(service)
    return frozenset(found)


def _rebuild(digest: str, data: dict[str, Any]) -> ImportedService:
    service = _REBUILT.get(digest)
    if service is None:
        service = ImportedService.from_dict(data)
        _REBUILT.put(digest, service, len(json.dumps(data, separators=(",", ":"))))
    return service


async def _services(
    session: AsyncSession, organization_id: str, names: Collection[str] | None = None
) -> list[ImportedService]:
    """The organisation's services (only `names` when given), rebuilt or from the cache: the
    stored data is read only for versions this process has not rebuilt yet."""
    stamps = await repository.stamps(session, organization_id, names)
    known = {stamp.name: _REBUILT.get(stamp.content_hash) for stamp in stamps}
    missing = [name for name, service in known.items() if service is None]
    for name, (digest, data) in (
        await repository.data_of(session, organization_id, missing)
    ).items():
        known[name] = _rebuild(digest, data)
    return [service for service in known.values() if service is not None]


# --------------------------------------------------------------------------- registries


async def organization_node_registry(
    session: AsyncSession, organization_id: str, definition: Any
) -> NodeRegistry | None:
    """The node registry to check `definition` with: the default one plus the imported
    services it uses; None (the default registry) when it uses none."""
    names = referenced_services(definition)
    if not names:
        return None
    return node_registry(await _services(session, organization_id, names))


async def organization_connection_types(
    session: AsyncSession, organization_id: str
) -> ConnectionTypeRegistry:
    """Built-in and plugin connection types plus the organisation's imported ones."""
    return connection_type_registry(await _services(session, organization_id))


async def organization_node_types(session: AsyncSession, organization_id: str) -> NodeRegistry:
    """Every node type the organisation can use: `GET /node-types`."""
    return node_registry(await _services(session, organization_id))


async def connection_kind(
    session: AsyncSession, organization_id: str, type_name: str
) -> ConnectionType | None:
    """The imported connection type `openapi.<name>` of the organisation, or None."""
    name = service_of(type_name)
    if name is None or type_name != f"{PREFIX}{name}":
        return None
    services = await _services(session, organization_id, [name])
    return services[0].connection_type if services else None


async def connection_kinds(
    session: AsyncSession, organization_id: str, type_names: Iterable[str]
) -> dict[str, ConnectionType]:
    """`{type: ConnectionType}` of the imported ones among `type_names`."""
    wanted = {
        name
        for type_name in type_names
        if (name := service_of(type_name)) is not None and type_name == f"{PREFIX}{name}"
    }
    if not wanted:
        return {}
    services = await _services(session, organization_id, wanted)
    return {service.connection_type.type: service.connection_type for service in services}


async def claimed_services(
    session: AsyncSession, organization_id: str, names: Collection[str]
) -> list[dict[str, Any]]:
    """The stored form of the named services, for a runner's claim (it rebuilds them)."""
    stored = await repository.data_of(session, organization_id, names)
    return [data for _, (_, data) in sorted(stored.items())]


# --------------------------------------------------------------------------- calls


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ValidationFailed(
            f"The service name {name!r} must match {NAME_PATTERN.pattern}",
            errors=[{"loc": ["body", "name"], "msg": f"must match {NAME_PATTERN.pattern}"}],
        )


def _document_text(document: str | dict[str, Any]) -> str:
    # A document sent as a JSON object is imported as the JSON text it is.
    return document if isinstance(document, str) else json.dumps(document, ensure_ascii=False)


def _view(service: ImportedService, updated_at: datetime) -> ImportedServiceView:
    kind = ConnectionTypeView.model_validate(service.connection_type.describe())
    return ImportedServiceView(
        name=service.name,
        title=service.title,
        version=service.version,
        openapi=service.openapi,
        connection_type=kind,
        node_types=NodeRegistry(service.node_types).describe(),
        notes=list(service.notes),
        updated_at=updated_at,
    )


async def import_service(
    session: AsyncSession, *, organization_id: str, name: str, document: str | dict[str, Any]
) -> ImportedServiceView:
    """Import (or re-import, replacing) a document as the service `name`. A document that
    cannot be imported is a 422 whose `pointer` (and the error's) is the first broken place."""
    _check_name(name)
    try:
        service = await asyncio.to_thread(import_openapi, name, _document_text(document))
    except OpenApiDocumentError as exc:
        where = exc.pointer or "(the whole document)"
        raise ValidationFailed(
            f"The document cannot be imported: {exc.message} (at {where})",
            errors=[{"loc": ["body", "document"], "msg": exc.message, "pointer": exc.pointer}],
            extra={"pointer": exc.pointer},
        ) from None
    data = service.to_dict()
    digest = content_hash(data)
    row = await repository.put(
        session,
        organization_id,
        name,
        content_hash=digest,
        data=data,
        operation_count=len(service.operations),
    )
    _REBUILT.put(digest, service, len(json.dumps(data, separators=(",", ":"))))
    return _view(service, row.updated_at)


async def get_service(
    session: AsyncSession, *, organization_id: str, name: str
) -> ImportedServiceView:
    _check_name(name)
    row = await repository.get(session, organization_id, name)
    if row is None:
        raise NotFound(f"No imported service {name!r}")
    return _view(_rebuild(row.content_hash, dict(row.data)), row.updated_at)


async def list_services(
    session: AsyncSession, *, organization_id: str
) -> list[ImportedServiceSummary]:
    stamps = {stamp.name: stamp for stamp in await repository.stamps(session, organization_id)}
    out = []
    for service in await _services(session, organization_id, list(stamps)):
        stamp = stamps[service.name]
        out.append(
            ImportedServiceSummary(
                name=service.name,
                type=service.connection_type.type,
                title=service.title,
                version=service.version,
                openapi=service.openapi,
                operation_count=stamp.operation_count,
                notes=list(service.notes),
                updated_at=stamp.updated_at or utcnow(),
            )
        )
    return out


async def delete_service(
    session: AsyncSession, *, organization_id: str, name: str, force: bool = False
) -> None:
    """Forget a service. Refused (409 naming them) while flows that are not archived use its
    node types in their current revision, unless `force`: such flows then fail validation and
    their runs fail naming the missing node type. Connections of its type are kept (a
    re-import under the same name brings their type back)."""
    _check_name(name)
    if await repository.get(session, organization_id, name) is None:
        raise NotFound(f"No imported service {name!r}")
    if not force:
        # Imported here: the flows domain uses this module to validate definitions.
        from flomation.flows import service as flows_service

        users = await flows_service.flows_using_node_types(
            session, organization_id, prefix=f"{PREFIX}{name}."
        )
        if users:
            shown = ", ".join(f"{flow_name!r} ({flow_id})" for flow_id, flow_name in users[:10])
            more = f" and {len(users) - 10} more" if len(users) > 10 else ""
            raise Conflict(
                f"Imported service {name!r} is used by flows {shown}{more}; change them, or "
                "delete with ?force=true",
                extra={"flows": [{"id": flow_id, "name": n} for flow_id, n in users]},
            )
    await repository.delete_one(session, organization_id, name)


async def probed_service(
    session: AsyncSession, organization_id: str, type_name: str
) -> dict[str, Any] | None:
    """For testing a connection of type `openapi.<name>` on a runner: that service as stored
    (the runner rebuilds its connection type to run the probe); None for other types."""
    name = service_of(type_name)
    if name is None or type_name != f"{PREFIX}{name}":
        return None
    found = await claimed_services(session, organization_id, [name])
    return found[0] if found else None
