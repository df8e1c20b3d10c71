"""Request and response shapes of the flows API (described by `/api/v1/openapi.json`).

Request bodies forbid unknown fields (a typo is a 422, not silently ignored). A definition is
taken as a plain JSON object here and checked by `flomation.flows.validation`, so that every
problem in it is reported at once, with node ids, instead of Pydantic's first layer only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from flomation.flows.diff import FlowDiff
from flomation.flows.validation import text_problem
from flomation.models.flows import Flow, FlowRevision, SaveData


def _storable(value: str) -> str:
    wrong = text_problem(value)
    if wrong:
        raise ValueError(wrong)
    return value


_Text = AfterValidator(_storable)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), _Text]
Description = Annotated[str, StringConstraints(max_length=10_000), _Text]
Message = Annotated[str, StringConstraints(max_length=2_000), _Text]
Definition = dict[str, Any]
RevisionNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateFlowBody(_Body):
    name: Name
    description: Description = ""
    definition: Definition
    message: Message | None = None


class SaveFlowBody(_Body):
    definition: Definition
    base_revision: RevisionNumber
    message: Message | None = None
    name: Name | None = None
    description: Description | None = None


_SAVE_DATA_HELP = (
    "What this flow's executions keep: `all` (steps and logs), `errors` (steps and logs of "
    "executions that did not succeed), `none` (the execution's summary only); null: the "
    "organisation's default (`defaults.save_data`). Applies to executions ending after it"
)


class PatchFlowBody(_Body):
    """Only the fields sent change; `max_concurrent_executions: null` removes the limit,
    `save_data: null` hands the flow back to the organisation's default."""

    name: Name | None = None
    description: Description | None = None
    max_concurrent_executions: Annotated[int, Field(ge=1, le=100_000)] | None = None
    save_data: SaveData | None = Field(default=None, description=_SAVE_DATA_HELP)


class RestoreBody(_Body):
    message: Message | None = None


class ValidateBody(_Body):
    definition: Definition


class FlowSummaryOut(BaseModel):
    """A flow in the list, without its definition. Other domains may add fields to list
    items (see `flomation.flows.service.FlowListAnnotator`), hence `extra="allow"`."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    description: str
    revision: int
    max_concurrent_executions: int | None
    save_data: SaveData | None = Field(description=_SAVE_DATA_HELP)
    runs_on: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None

    @classmethod
    def of(cls, flow: Flow) -> FlowSummaryOut:
        return cls(
            id=flow.id,
            name=flow.name,
            description=flow.description,
            revision=flow.current_revision,
            max_concurrent_executions=flow.max_concurrent_executions,
            save_data=cast(SaveData | None, flow.save_data),
            runs_on=flow.runs_on or {},
            created_by=flow.created_by,
            created_at=flow.created_at,
            updated_at=flow.updated_at,
            archived_at=flow.archived_at,
        )


class FlowOut(FlowSummaryOut):
    """A flow at its current revision, with the definition and its content hash."""

    definition: Definition
    hash: str

    @classmethod
    def of_revision(cls, flow: Flow, revision: FlowRevision) -> FlowOut:
        summary = FlowSummaryOut.of(flow).model_dump()
        return cls(**summary, definition=revision.definition, hash=revision.content_hash)


class FlowPage(BaseModel):
    items: list[FlowSummaryOut]
    next_cursor: str | None


class AuthorOut(BaseModel):
    id: str
    name: str | None


class RevisionSummaryOut(BaseModel):
    revision: int
    author: AuthorOut | None
    message: str | None
    created_at: datetime
    hash: str


class RevisionOut(RevisionSummaryOut):
    flow_id: str
    definition: Definition


class RevisionPage(BaseModel):
    items: list[RevisionSummaryOut]
    next_cursor: str | None


class ProblemItem(BaseModel):
    loc: list[str | int]
    msg: str
    node_id: str | None = None
    field: str | None = None


class ValidationOut(BaseModel):
    valid: bool
    warnings: list[ProblemItem]


class NodeChangeOut(BaseModel):
    id: str
    fields: list[str]


class NodesDiffOut(BaseModel):
    added: list[str]
    removed: list[str]
    changed: list[NodeChangeOut]


class EdgeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    port: str


class EdgesDiffOut(BaseModel):
    added: list[EdgeOut]
    removed: list[EdgeOut]
    reordered: bool


class SettingsDiffOut(BaseModel):
    changed: list[str]


class DiffOut(BaseModel):
    """Nodes by id (`changed` when anything but `position` differs, with the changed fields),
    edges as `{from, to, port}`, settings by top-level field name."""

    nodes: NodesDiffOut
    edges: EdgesDiffOut
    settings: SettingsDiffOut

    @classmethod
    def of(cls, diff: FlowDiff) -> DiffOut:
        return cls.model_validate(diff)


class NodeTypeOut(BaseModel):
    """A node type as the editor's palette and config forms use it. A plugin's type may add
    fields of its own, hence `extra="allow"`."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    description: str
    icon: str
    group: str
    ports: list[str] = Field(description="The output ports for the default config")
    config_schema: dict[str, Any] = Field(description="JSON Schema of the node's config")
    output_schema: dict[str, Any] = Field(description="JSON Schema of the node's output")
    connection_types: list[str] = Field(
        default_factory=list,
        description="The connection types the node's `connection` may name (empty: none)",
    )
    docs_url: str | None = Field(
        default=None,
        description="The type's documentation: an absolute URL, or a path in the Flomation "
        "repository (`docs/...`)",
    )


class NodeTypesOut(BaseModel):
    items: list[NodeTypeOut]
