"""Connections and connection types endpoints. No answer here carries a secret field's value.

`router` is protected like every user route. `test_router` authenticates by itself in a short
transaction: its call waits up to 15 s for a runner, and the request transaction of a
protected route (on SQLite, the write lock) would stop that runner from taking the probe."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request, Response

from flomation.api.deps import EditorPrincipal, SessionDep, ViewerPrincipal, get_principal
from flomation.auth.principal import Principal
from flomation.auth.roles import Role
from flomation.connections import imported_endpoints, probes, service
from flomation.connections.oauth_endpoints import oauth_router
from flomation.connections.schemas import (
    ConnectionBody,
    ConnectionTestBody,
    ConnectionTestResult,
    ConnectionTypeView,
    ConnectionView,
)
from flomation.db.session import Database
from flomation.errors import Forbidden
from flomation.pagination import Page, PageParams, page_query

router = APIRouter(tags=["connections"])
test_router = APIRouter(tags=["connections"])

ConnectionPages = Annotated[PageParams[str], Depends(page_query("connections"))]


@router.get("/connection-types", operation_id="list_connection_types")
async def list_connection_types(
    principal: ViewerPrincipal, session: SessionDep
) -> list[ConnectionTypeView]:
    """Built-in and plugin connection types and the organisation's imported OpenAPI
    services' (`openapi.<name>`), with their values' JSON schema."""
    return await service.list_organization_connection_types(session, principal.organization_id)


# The imported OpenAPI services' routes (`/connection-types/openapi...`).
router.include_router(imported_endpoints.router)


@router.get("/connections", operation_id="list_connections")
async def list_connections(
    principal: ViewerPrincipal, session: SessionDep, page: ConnectionPages
) -> Page[ConnectionView]:
    """By name; secret fields that are set read `"***"`."""
    return await service.list_connections(
        session, organization_id=principal.organization_id, page=page
    )


@router.get("/connections/{name}", operation_id="get_connection")
async def get_connection(
    name: str, principal: ViewerPrincipal, session: SessionDep
) -> ConnectionView:
    return await service.get_connection(
        session, organization_id=principal.organization_id, name=name
    )


@router.put("/connections/{name}", operation_id="put_connection")
async def put_connection(
    name: str, body: ConnectionBody, principal: EditorPrincipal, session: SessionDep
) -> ConnectionView:
    """Create or replace. Values are checked against the type's schema (422 naming the
    field); a secret field sent as `"***"` keeps its stored value."""
    return await service.put_connection(
        session,
        organization_id=principal.organization_id,
        name=name,
        type_name=body.type,
        values=body.values,
    )


@router.delete("/connections/{name}", operation_id="delete_connection", status_code=204)
async def delete_connection(name: str, principal: EditorPrincipal, session: SessionDep) -> Response:
    await service.delete_connection(session, organization_id=principal.organization_id, name=name)
    return Response(status_code=204)


async def _editor_briefly(request: Request) -> Principal:
    """An editor or up, authenticated in a transaction that ends before the call waits."""
    database: Database = request.app.state.database
    async with database.transaction() as session:
        principal = await get_principal(request, session)
    if not principal.role.at_least(Role.EDITOR):
        raise Forbidden(f"This needs the {Role.EDITOR.value} role or higher")
    return principal


@test_router.post("/connections/{name}/test", operation_id="test_connection")
async def run_connection_test(
    name: str,
    request: Request,
    principal: Annotated[Principal, Depends(_editor_briefly)],
    body: Annotated[ConnectionTestBody | None, Body()] = None,
) -> ConnectionTestResult:
    """Runs the type's probe on a runner (whose labels cover `runs_on`), within 15 s; the
    answer is also stored on the connection (`last_tested_at`, `last_error`)."""
    outcome = await probes.probe_connection(
        request.app.state.database,
        organization_id=principal.organization_id,
        name=name,
        runs_on=(body or ConnectionTestBody()).runs_on,
    )
    return ConnectionTestResult(
        ok=outcome.ok, message=outcome.message, duration_ms=outcome.duration_ms
    )


# OAuth 2's start and callback authenticate by themselves too (the callback by its state).
test_router.include_router(oauth_router)
