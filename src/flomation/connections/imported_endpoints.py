"""`/connection-types/openapi`: import an OpenAPI document as a connection type and node
types, list and delete imported services. Editors and up, as for connections."""

from __future__ import annotations

from fastapi import APIRouter, Response

from flomation.api.deps import EditorPrincipal, SessionDep, ViewerPrincipal
from flomation.connections import imported
from flomation.connections.schemas import (
    ImportedServiceSummary,
    ImportedServiceView,
    OpenApiImportBody,
)

router = APIRouter(tags=["connections"])


@router.post("/connection-types/openapi", operation_id="import_openapi_service", status_code=200)
async def import_openapi_service(
    body: OpenApiImportBody, principal: EditorPrincipal, session: SessionDep
) -> ImportedServiceView:
    """Makes the connection type `openapi.<name>` and one node type per operation
    (`openapi.<name>.<operationId>`); importing again under a name replaces them. A document
    that cannot be imported is a 422 whose `pointer` names its first broken place."""
    return await imported.import_service(
        session, organization_id=principal.organization_id, name=body.name, document=body.document
    )


@router.get("/connection-types/openapi", operation_id="list_openapi_services")
async def list_openapi_services(
    principal: ViewerPrincipal, session: SessionDep
) -> list[ImportedServiceSummary]:
    return await imported.list_services(session, organization_id=principal.organization_id)


@router.get("/connection-types/openapi/{name}", operation_id="get_openapi_service")
async def get_openapi_service(
    name: str, principal: ViewerPrincipal, session: SessionDep
) -> ImportedServiceView:
    return await imported.get_service(session, organization_id=principal.organization_id, name=name)


@router.delete(
    "/connection-types/openapi/{name}", operation_id="delete_openapi_service", status_code=204
)
async def delete_openapi_service(
    name: str, principal: EditorPrincipal, session: SessionDep, force: bool = False
) -> Response:
    """409 naming the flows whose current revision uses its node types, unless `force`."""
    await imported.delete_service(
        session, organization_id=principal.organization_id, name=name, force=force
    )
    return Response(status_code=204)
