"""Variables and secrets endpoints. No answer here ever carries a secret's value."""

from __future__ import annotations

from fastapi import APIRouter, Response

from flomation.api.deps import AdminPrincipal, EditorPrincipal, SessionDep, ViewerPrincipal
from flomation.secrets import service
from flomation.secrets.schemas import (
    SecretBody,
    SecretList,
    SecretView,
    VariableBody,
    VariableList,
    VariableView,
)

router = APIRouter(tags=["variables and secrets"])


@router.get("/variables", operation_id="list_variables")
async def list_variables(principal: ViewerPrincipal, session: SessionDep) -> VariableList:
    items = await service.list_variables(session, organization_id=principal.organization_id)
    return VariableList(items=items)


@router.get("/variables/{name}", operation_id="get_variable")
async def get_variable(name: str, principal: ViewerPrincipal, session: SessionDep) -> VariableView:
    return await service.get_variable(session, organization_id=principal.organization_id, name=name)


@router.put("/variables/{name}", operation_id="put_variable")
async def put_variable(
    name: str, body: VariableBody, principal: EditorPrincipal, session: SessionDep
) -> VariableView:
    return await service.put_variable(
        session, organization_id=principal.organization_id, name=name, value=body.value
    )


@router.delete("/variables/{name}", operation_id="delete_variable", status_code=204)
async def delete_variable(name: str, principal: EditorPrincipal, session: SessionDep) -> Response:
    await service.delete_variable(session, organization_id=principal.organization_id, name=name)
    return Response(status_code=204)


@router.get("/secrets", operation_id="list_secrets")
async def list_secrets(principal: ViewerPrincipal, session: SessionDep) -> SecretList:
    """Names and dates only."""
    return SecretList(
        items=await service.list_secrets(session, organization_id=principal.organization_id)
    )


@router.put("/secrets/{name}", operation_id="put_secret")
async def put_secret(
    name: str, body: SecretBody, principal: AdminPrincipal, session: SessionDep
) -> SecretView:
    """Stores the value encrypted; answers with the name and dates, never the value."""
    return await service.put_secret(
        session, organization_id=principal.organization_id, name=name, value=body.value
    )


@router.delete("/secrets/{name}", operation_id="delete_secret", status_code=204)
async def delete_secret(name: str, principal: AdminPrincipal, session: SessionDep) -> Response:
    await service.delete_secret(session, organization_id=principal.organization_id, name=name)
    return Response(status_code=204)
