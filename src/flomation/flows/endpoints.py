"""Flows API: thin handlers over `flomation.flows.service` (described by `/api/v1/openapi.json`).

Viewers read; editors and up write. Everything is scoped to the caller's organisation.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status

from flomation.api.deps import EditorPrincipal, SessionDep, ViewerPrincipal
from flomation.connections import imported as imported_services
from flomation.flows import service
from flomation.flows.schemas import (
    AuthorOut,
    CreateFlowBody,
    DiffOut,
    FlowOut,
    FlowPage,
    FlowSummaryOut,
    NodeTypesOut,
    PatchFlowBody,
    ProblemItem,
    RestoreBody,
    RevisionOut,
    RevisionPage,
    RevisionSummaryOut,
    SaveFlowBody,
    ValidateBody,
    ValidationOut,
)
from flomation.pagination import PageParams, page_query

router = APIRouter(tags=["flows"])

FlowPages = Annotated[PageParams[str], Depends(page_query("flows"))]
RevisionPages = Annotated[
    PageParams[int], Depends(page_query("revisions", service.revision_number))
]

_ANNOTATORS_STATE = "flow_list_annotators"


def add_flow_list_annotator(app: FastAPI, annotator: service.FlowListAnnotator) -> None:
    """Let another domain add fields to `GET /flows` items (e.g. `last_execution`)."""
    annotators: list[service.FlowListAnnotator] = getattr(app.state, _ANNOTATORS_STATE, [])
    setattr(app.state, _ANNOTATORS_STATE, [*annotators, annotator])


def _annotators(request: Request) -> list[service.FlowListAnnotator]:
    annotators: list[service.FlowListAnnotator] = getattr(request.app.state, _ANNOTATORS_STATE, [])
    return annotators


def _flow_out(state: service.FlowState) -> FlowOut:
    return FlowOut.of_revision(state.flow, state.revision)


@router.post(
    "/flows/validate",
    operation_id="validate_flow_definition",
    response_model=ValidationOut,
    responses={422: {"description": "Every problem of the definition, with its location"}},
)
async def validate_flow_definition(
    body: ValidateBody, session: SessionDep, user: ViewerPrincipal
) -> ValidationOut:
    warnings = await service.validate_flow_definition(
        session,
        organization_id=user.organization_id,
        definition=body.definition,
        loc_prefix=("body", "definition"),
    )
    return ValidationOut(valid=True, warnings=[ProblemItem(**item) for item in warnings])


@router.get("/node-types", operation_id="list_node_types", response_model=NodeTypesOut)
async def get_node_types(user: ViewerPrincipal, session: SessionDep) -> NodeTypesOut:
    """Flomation's node types and the organisation's imported OpenAPI services' ones."""
    registry = await imported_services.organization_node_types(session, user.organization_id)
    return NodeTypesOut(items=registry.describe())


@router.post(
    "/flows",
    operation_id="create_flow",
    status_code=status.HTTP_201_CREATED,
    response_model=FlowOut,
)
async def create_flow(body: CreateFlowBody, session: SessionDep, user: EditorPrincipal) -> FlowOut:
    state = await service.create_flow(
        session,
        organization_id=user.organization_id,
        author_id=user.user_id,
        name=body.name,
        description=body.description,
        definition=body.definition,
        message=body.message,
    )
    return _flow_out(state)


@router.get("/flows", operation_id="list_flows", response_model=FlowPage)
async def list_flows(
    request: Request,
    session: SessionDep,
    user: ViewerPrincipal,
    page: FlowPages,
    q: Annotated[str | None, Query(max_length=200, description="Name contains")] = None,
    include_archived: bool = False,
) -> FlowPage:
    listed = await service.list_flows(
        session,
        organization_id=user.organization_id,
        page=page,
        query=q,
        include_archived=include_archived,
        annotators=_annotators(request),
    )
    items = [
        FlowSummaryOut.of(flow).model_copy(update=listed.annotations.get(flow.id, {}))
        for flow in listed.flows
    ]
    return FlowPage(items=items, next_cursor=listed.next_cursor)


@router.get("/flows/{flow_id}", operation_id="get_flow", response_model=FlowOut)
async def get_flow(flow_id: str, session: SessionDep, user: ViewerPrincipal) -> FlowOut:
    state = await service.get_flow(session, organization_id=user.organization_id, flow_id=flow_id)
    return _flow_out(state)


@router.put(
    "/flows/{flow_id}",
    operation_id="save_flow",
    response_model=FlowOut,
    responses={409: {"description": "`base_revision` is not current: `current_revision` says"}},
)
async def save_flow(
    flow_id: str, body: SaveFlowBody, session: SessionDep, user: EditorPrincipal
) -> FlowOut:
    state = await service.save_flow(
        session,
        organization_id=user.organization_id,
        flow_id=flow_id,
        author_id=user.user_id,
        definition=body.definition,
        base_revision=body.base_revision,
        message=body.message,
        name=body.name,
        description=body.description,
    )
    return _flow_out(state)


@router.patch("/flows/{flow_id}", operation_id="update_flow", response_model=FlowOut)
async def update_flow(
    flow_id: str, body: PatchFlowBody, session: SessionDep, user: EditorPrincipal
) -> FlowOut:
    changes = body.model_dump(include=body.model_fields_set)
    state = await service.update_flow(
        session, organization_id=user.organization_id, flow_id=flow_id, changes=changes
    )
    return _flow_out(state)


@router.delete(
    "/flows/{flow_id}", operation_id="archive_flow", status_code=status.HTTP_204_NO_CONTENT
)
async def archive_flow(flow_id: str, session: SessionDep, user: EditorPrincipal) -> Response:
    await service.archive_flow(session, organization_id=user.organization_id, flow_id=flow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/flows/{flow_id}/revisions", operation_id="list_flow_revisions", response_model=RevisionPage
)
async def list_revisions(
    flow_id: str,
    session: SessionDep,
    user: ViewerPrincipal,
    page: RevisionPages,
) -> RevisionPage:
    listed = await service.list_revisions(
        session, organization_id=user.organization_id, flow_id=flow_id, page=page
    )
    items = [
        RevisionSummaryOut(
            revision=row.revision,
            author=_author(row.author_id, row.author_name),
            message=row.message,
            created_at=row.created_at,
            hash=row.content_hash,
        )
        for row in listed.revisions
    ]
    return RevisionPage(items=items, next_cursor=listed.next_cursor)


@router.get(
    "/flows/{flow_id}/revisions/{revision}",
    operation_id="get_flow_revision",
    response_model=RevisionOut,
)
async def get_revision(
    flow_id: str, revision: int, session: SessionDep, user: ViewerPrincipal
) -> RevisionOut:
    state = await service.get_flow(
        session, organization_id=user.organization_id, flow_id=flow_id, revision=revision
    )
    rev = state.revision
    name = await service.get_revision_author_name(session, rev.author_id)
    return RevisionOut(
        flow_id=rev.flow_id,
        revision=rev.revision,
        author=_author(rev.author_id, name),
        message=rev.message,
        created_at=rev.created_at,
        hash=rev.content_hash,
        definition=rev.definition,
    )


@router.get("/flows/{flow_id}/diff", operation_id="diff_flow_revisions", response_model=DiffOut)
async def diff_revisions(
    flow_id: str,
    session: SessionDep,
    user: ViewerPrincipal,
    from_revision: Annotated[int, Query(alias="from")],
    to_revision: Annotated[int, Query(alias="to")],
) -> DiffOut:
    diff = await service.diff_revisions(
        session,
        organization_id=user.organization_id,
        flow_id=flow_id,
        from_revision=from_revision,
        to_revision=to_revision,
    )
    return DiffOut.of(diff)


@router.post(
    "/flows/{flow_id}/revisions/{revision}/restore",
    operation_id="restore_flow_revision",
    response_model=FlowOut,
)
async def restore_revision(
    flow_id: str,
    revision: int,
    session: SessionDep,
    user: EditorPrincipal,
    body: RestoreBody | None = None,
) -> FlowOut:
    state = await service.restore_revision(
        session,
        organization_id=user.organization_id,
        flow_id=flow_id,
        revision=revision,
        author_id=user.user_id,
        message=body.message if body is not None else None,
    )
    return _flow_out(state)


def _author(author_id: str | None, name: str | None) -> AuthorOut | None:
    return None if author_id is None else AuthorOut(id=author_id, name=name)
