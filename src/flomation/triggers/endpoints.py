"""Triggers API: thin handlers over the triggers service (described by `/api/v1/openapi.json`).

Viewers read; editors and up write. Another organisation's ids answer 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from flomation.api.deps import EditorPrincipal, SessionDep, SettingsDep, ViewerPrincipal
from flomation.pagination import Page, PageParams, make_page, page_query
from flomation.triggers import service
from flomation.triggers.schemas import TriggerCreate, TriggerOut, TriggerUpdate

router = APIRouter(tags=["triggers"])

TriggerPages = Annotated[PageParams[str], Depends(page_query("triggers"))]


@router.post(
    "/flows/{flow_id}/triggers",
    operation_id="create_trigger",
    status_code=status.HTTP_201_CREATED,
)
async def create_trigger(
    flow_id: str,
    body: TriggerCreate,
    principal: EditorPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> TriggerOut:
    return await service.create_trigger(
        session,
        organization_id=principal.organization_id,
        flow_id=flow_id,
        body=body,
        allow_local_git=settings.launch_allow_local_git,
    )


@router.get("/flows/{flow_id}/triggers", operation_id="list_flow_triggers")
async def list_flow_triggers(
    flow_id: str, principal: ViewerPrincipal, session: SessionDep, page: TriggerPages
) -> Page[TriggerOut]:
    items = await service.list_triggers(
        session,
        organization_id=principal.organization_id,
        flow_id=flow_id,
        after_id=page.after,
        limit=page.limit + 1,
    )
    return make_page(items, page, key=lambda item: item.id, item=lambda item: item)


@router.get("/triggers/{trigger_id}", operation_id="get_trigger")
async def get_trigger(
    trigger_id: str, principal: ViewerPrincipal, session: SessionDep
) -> TriggerOut:
    return await service.get_trigger(
        session, organization_id=principal.organization_id, trigger_id=trigger_id
    )


@router.patch("/triggers/{trigger_id}", operation_id="update_trigger")
async def update_trigger(
    trigger_id: str,
    body: TriggerUpdate,
    principal: EditorPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> TriggerOut:
    return await service.update_trigger(
        session,
        organization_id=principal.organization_id,
        trigger_id=trigger_id,
        body=body,
        allow_local_git=settings.launch_allow_local_git,
    )


@router.delete(
    "/triggers/{trigger_id}",
    operation_id="delete_trigger",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_trigger(
    trigger_id: str, principal: EditorPrincipal, session: SessionDep
) -> Response:
    await service.delete_trigger(
        session, organization_id=principal.organization_id, trigger_id=trigger_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
