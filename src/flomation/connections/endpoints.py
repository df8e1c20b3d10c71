"""Connections and connection types endpoints. No answer here carries a secret field's value."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from flomation.api.deps import EditorPrincipal, SessionDep, ViewerPrincipal
from flomation.connections import service
from flomation.connections.schemas import ConnectionBody, ConnectionTypeView, ConnectionView
from flomation.pagination import Page, PageParams, page_query

router = APIRouter(tags=["connections"])

ConnectionPages = Annotated[PageParams[str], Depends(page_query("connections"))]


@router.get("/connection-types", operation_id="list_connection_types")
async def list_connection_types(_: ViewerPrincipal) -> list[ConnectionTypeView]:
    """Built-in and plugin connection types, with their values' JSON schema."""
    return service.list_connection_types()


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
