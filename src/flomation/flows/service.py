"""Rules of the flows domain: flows, their immutable revisions, diff, restore, validation.

Every function takes an `AsyncSession` whose transaction the caller owns (services never
commit) and the caller's organisation: a flow of another organisation is `NotFound`, exactly
like one that does not exist.

For other domains (read flows only through these):

- `get_flow_revision(session, organization_id, flow_id, revision=None) -> FlowRevisionView`:
  a revision's definition with what the queue needs (name, archived_at,
  max_concurrent_executions, runs_on of that revision). Raises `NotFound` for an unknown
  flow or revision. Archived flows are returned (with `archived_at`) so the caller decides;
  executions refuse them with 409.
- `flow_exists(session, organization_id, flow_id) -> bool` (archived flows exist).
- `cached_current_revision(organization_id, flow_id) -> FlowRevisionView | None`: this
  process's copy of what `get_flow_revision` last returned for the current revision of an
  active flow, without a round trip. It may be stale (another process saved, archived or
  changed the limit): a caller writes with it only under a guard that re-checks, in the same
  statement, that the flow is still at that revision with that content hash, not archived
  and with that limit, and calls `forget_current_revision` and reads again when it fails.
- `list_active_flow_ids(session, organization_id, flow_ids=None) -> list[str]`: the flows
  that are not archived, optionally only among `flow_ids`.
- `FlowListAnnotator`: a function another domain provides to add fields to the items of the
  flow list (e.g. the executions domain's `last_execution`); the API passes the registered
  ones to `list_flows` (see `flomation.flows.endpoints.add_flow_list_annotator`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.connections import imported as imported_services
from flomation.connections import service as connections_service
from flomation.engine.nodes.registry import NodeRegistry
from flomation.errors import Conflict, NotFound, ValidationFailed
from flomation.flows import repository
from flomation.flows.diff import FlowDiff, diff_definitions
from flomation.flows.validation import Loc, check_definition, text_problem
from flomation.models.flows import Flow, FlowRevision, SaveData
from flomation.pagination import PageParams, split_page
from flomation.secrets import service as secrets_service
from flomation.sized_lru import SizedLRU, json_bytes

_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_REVISION = 2**31 - 1  # revision numbers are 32-bit integers in the database

FlowListAnnotator = Callable[
    [AsyncSession, str, Sequence[str]], Awaitable[Mapping[str, Mapping[str, Any]]]
]
"""`(session, organization_id, flow_ids) -> {flow_id: {field: value}}`, merged into list items."""


@dataclass(frozen=True, slots=True)
class FlowState:
    """A flow with one of its revisions (its current one unless asked otherwise)."""

    flow: Flow
    revision: FlowRevision


@dataclass(frozen=True, slots=True)
class FlowRevisionView:
    """What other domains need to run a flow at a revision."""

    flow_id: str
    organization_id: str
    name: str
    revision: int
    current_revision: int
    definition: dict[str, Any]
    content_hash: str
    archived_at: datetime | None
    max_concurrent_executions: int | None
    runs_on: dict[str, str]


@dataclass(frozen=True, slots=True)
class FlowPageResult:
    flows: list[Flow]
    annotations: dict[str, dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class RevisionPageResult:
    revisions: list[repository.RevisionListing]
    next_cursor: str | None


# --------------------------------------------------------------------------- definitions


def content_hash(definition: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8): the same document
    always hashes the same, however its keys were ordered when sent or stored."""
    canonical = json.dumps(
        definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def require_valid_definition(
    definition: Any,
    loc_prefix: Loc = ("definition",),
    *,
    known_secrets: set[str] | None = None,
    known_vars: set[str] | None = None,
    known_connections: Mapping[str, str] | None = None,
    registry: NodeRegistry | None = None,
) -> list[dict[str, Any]]:
    """The warnings about a valid definition; `ValidationFailed` (422) listing every problem,
    each located under `loc_prefix`, when it is not valid. Pure: reads no database."""
    report = check_definition(
        definition,
        known_secrets=known_secrets,
        known_vars=known_vars,
        known_connections=known_connections,
        registry=registry,
    )
    if not report.valid:
        count = len(report.errors)
        raise ValidationFailed(
            f"The flow definition has {count} problem{'s' if count != 1 else ''}",
            errors=[problem.to_dict(loc_prefix) for problem in report.errors],
        )
    return [problem.to_dict(loc_prefix) for problem in report.warnings]


async def validate_flow_definition(
    session: AsyncSession, *, organization_id: str, definition: Any, loc_prefix: Loc
) -> list[dict[str, Any]]:
    """`POST /flows/validate`: like `require_valid_definition`, and also warns about secrets
    and variables the organisation does not have (a runner may hold a secret itself, so a
    missing one never makes the definition invalid)."""
    secrets = await secrets_service.list_secrets(session, organization_id=organization_id)
    variables = await secrets_service.list_variables(session, organization_id=organization_id)
    return require_valid_definition(
        definition,
        loc_prefix,
        known_secrets={secret.name for secret in secrets},
        known_vars={variable.name for variable in variables},
        known_connections=await _known_connections(session, organization_id, definition),
        registry=await _node_registry(session, organization_id, definition),
    )


async def _node_registry(
    session: AsyncSession, organization_id: str, definition: Any
) -> NodeRegistry | None:
    """The node types to check `definition` with: with the organisation's imported OpenAPI
    services it uses (so one whose operation disappeared on re-import fails naming it); None
    (the default types) when it uses none."""
    return await imported_services.organization_node_registry(session, organization_id, definition)


async def _known_connections(
    session: AsyncSession, organization_id: str, definition: Any
) -> dict[str, str] | None:
    """The organisation's `{connection name: type}` when the definition uses a connection
    (None otherwise: most flows use none, and then there is nothing to read)."""
    registry = await _node_registry(session, organization_id, definition)
    if not connections_service.referenced_connections(definition, registry):
        return None
    return await connections_service.types_by_name(session, organization_id)


async def flows_using_node_types(
    session: AsyncSession, organization_id: str, *, prefix: str
) -> list[tuple[str, str]]:
    """`(id, name)` of the flows that are not archived whose current revision has a node
    whose type starts with `prefix` (an imported service's `openapi.<name>.`)."""
    found = []
    for flow_id, name, definition in await repository.current_definitions(
        session, organization_id=organization_id
    ):
        nodes = definition.get("nodes") if isinstance(definition, dict) else None
        if isinstance(nodes, list) and any(
            isinstance(node, dict) and str(node.get("type", "")).startswith(prefix)
            for node in nodes
        ):
            found.append((flow_id, name))
    return found


def _runs_on(definition: Mapping[str, Any]) -> dict[str, Any]:
    labels = definition.get("runs_on")
    return dict(labels) if isinstance(labels, dict) else {}


# --------------------------------------------------------------------------- writes


async def create_flow(
    session: AsyncSession,
    *,
    organization_id: str,
    author_id: str | None,
    name: str,
    description: str,
    definition: dict[str, Any],
    message: str | None,
) -> FlowState:
    """A new flow whose revision 1 is `definition` (422 with every problem when invalid, a
    connection of a type its node does not take included)."""
    require_valid_definition(
        definition,
        ("body", "definition"),
        known_connections=await _known_connections(session, organization_id, definition),
        registry=await _node_registry(session, organization_id, definition),
    )
    flow = await repository.insert_flow(
        session,
        organization_id=organization_id,
        name=name,
        description=description,
        runs_on=_runs_on(definition),
        created_by=author_id,
    )
    revision = await repository.insert_revision(
        session,
        flow_id=flow.id,
        revision=1,
        definition=definition,
        content_hash=content_hash(definition),
        author_id=author_id,
        message=message,
    )
    return FlowState(flow, revision)


async def save_flow(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    author_id: str | None,
    definition: dict[str, Any],
    base_revision: int,
    message: str | None,
    name: str | None = None,
    description: str | None = None,
) -> FlowState:
    """A new revision on top of `base_revision`.

    Raises `Conflict` with `current_revision` when another save got there first (the editor
    reloads and merges), `Conflict` when the flow is archived, `NotFound` when it is not the
    caller's, `ValidationFailed` for a bad definition (nothing is written then).
    """
    require_valid_definition(
        definition,
        ("body", "definition"),
        known_connections=await _known_connections(session, organization_id, definition),
        registry=await _node_registry(session, organization_id, definition),
    )
    return await _append_revision(
        session,
        organization_id=organization_id,
        flow_id=flow_id,
        author_id=author_id,
        definition=definition,
        base_revision=base_revision,
        message=message,
        name=name,
        description=description,
    )


async def restore_revision(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    revision: int,
    author_id: str | None,
    message: str | None,
) -> FlowState:
    """A new revision equal to `revision` (same definition, same hash)."""
    flow = await _get_flow(session, organization_id, flow_id)
    old = (
        await repository.get_revisions(
            session,
            organization_id=organization_id,
            flow_id=flow_id,
            revisions=[n for n in (revision,) if _storable_revision(n)],
        )
    ).get(revision)
    if old is None:
        raise _revision_not_found(flow_id, revision, flow.current_revision)
    # The node types may have changed since it was saved: restoring must not store a
    # definition that no longer validates.
    require_valid_definition(
        old.definition,
        ("revisions", revision, "definition"),
        known_connections=await _known_connections(session, organization_id, old.definition),
        registry=await _node_registry(session, organization_id, old.definition),
    )
    return await _append_revision(
        session,
        organization_id=organization_id,
        flow_id=flow_id,
        author_id=author_id,
        definition=old.definition,
        base_revision=flow.current_revision,
        message=message if message is not None else f"Restored revision {revision}",
    )


async def _append_revision(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    author_id: str | None,
    definition: dict[str, Any],
    base_revision: int,
    message: str | None,
    name: str | None = None,
    description: str | None = None,
) -> FlowState:
    if not _plausible_id(flow_id):
        raise _flow_not_found(flow_id)
    forget_current_revision(organization_id, flow_id)  # spares this process a failed guard
    flow = await repository.advance_revision(
        session,
        organization_id=organization_id,
        flow_id=flow_id,
        base_revision=base_revision,
        runs_on=_runs_on(definition),
        name=name,
        description=description,
    )
    if flow is None:
        raise await _why_not_advanced(session, organization_id, flow_id, base_revision)
    try:
        revision = await repository.insert_revision(
            session,
            flow_id=flow_id,
            revision=base_revision + 1,
            definition=definition,
            content_hash=content_hash(definition),
            author_id=author_id,
            message=message,
        )
    except repository.RevisionTaken as exc:
        # The conditional update makes this unreachable in practice; the unique key is the
        # last line of defence, and the caller's transaction rolls the update back.
        raise _stale_base(base_revision, base_revision + 1) from exc
    return FlowState(flow, revision)


async def _why_not_advanced(
    session: AsyncSession, organization_id: str, flow_id: str, base_revision: int
) -> Exception:
    flow = await _get_flow(session, organization_id, flow_id)
    if flow.archived_at is not None:
        return _archived(flow)
    return _stale_base(base_revision, flow.current_revision)


def _stale_base(base_revision: int, current_revision: int) -> Conflict:
    return Conflict(
        f"The flow is at revision {current_revision}, not {base_revision}: someone saved it "
        "meanwhile. Reload it, reapply your changes and save on the current revision.",
        extra={"current_revision": current_revision},
    )


def _archived(flow: Flow) -> Conflict:
    return Conflict(
        f"Flow {flow.id} is archived; it can be read but no longer changed",
        extra={"current_revision": flow.current_revision},
    )


async def update_flow(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    changes: Mapping[str, Any],
) -> FlowState:
    """Change name, description, max_concurrent_executions or save_data; no new revision.

    `changes` holds only the fields the caller sent (None clears the concurrency limit, and
    hands `save_data` back to the organisation's default). `save_data` is read by every report
    of an execution (the fence's statement), so a change applies to executions that end after
    this transaction commits, including those already running.
    """
    allowed = {"name", "description", "max_concurrent_executions", "save_data"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(
            "These fields cannot be changed here",
            errors=[{"loc": ["body", key], "msg": "not a changeable field"} for key in unknown],
        )
    for key in ("name", "description"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(
                f"{key} cannot be null", errors=[{"loc": ["body", key], "msg": "may not be null"}]
            )
    mode = changes.get("save_data")
    if mode is not None and mode not in get_args(SaveData):
        raise ValidationFailed(
            "save_data must be all, errors or none",
            errors=[{"loc": ["body", "save_data"], "msg": "must be all, errors, none or null"}],
        )
    if changes:
        forget_current_revision(organization_id, flow_id)
        flow = await repository.update_flow_fields(
            session, organization_id=organization_id, flow_id=flow_id, values=dict(changes)
        )
        if flow is None:
            existing = await _get_flow(session, organization_id, flow_id)
            raise _archived(existing)
    return await get_flow(session, organization_id=organization_id, flow_id=flow_id)


async def archive_flow(session: AsyncSession, *, organization_id: str, flow_id: str) -> None:
    """Archive: readable with `archived_at`, out of the default list, no new revisions or
    executions. Archiving twice is harmless."""
    await _get_flow(session, organization_id, flow_id)
    forget_current_revision(organization_id, flow_id)
    await repository.archive_flow(session, organization_id=organization_id, flow_id=flow_id)


# --------------------------------------------------------------------------- reads


async def get_flow(
    session: AsyncSession, *, organization_id: str, flow_id: str, revision: int | None = None
) -> FlowState:
    if not _plausible_id(flow_id):
        raise _flow_not_found(flow_id)
    found = None
    if revision is None or _storable_revision(revision):
        found = await repository.get_flow_and_revision(
            session, organization_id=organization_id, flow_id=flow_id, revision=revision
        )
    if found is None:
        raise await _missing(session, organization_id, flow_id, revision)
    return FlowState(*found)


async def _missing(
    session: AsyncSession, organization_id: str, flow_id: str, revision: int | None
) -> NotFound:
    """Why the flow at `revision` was not found: no such flow, or no such revision of it."""
    if revision is None:
        return _flow_not_found(flow_id)
    flow = await _get_flow(session, organization_id, flow_id)
    return _revision_not_found(flow_id, revision, flow.current_revision)


async def get_revision_author_name(session: AsyncSession, author_id: str | None) -> str | None:
    return None if author_id is None else await repository.author_name(session, author_id)


async def list_flows(
    session: AsyncSession,
    *,
    organization_id: str,
    page: PageParams[str],
    query: str | None = None,
    include_archived: bool = False,
    annotators: Sequence[FlowListAnnotator] = (),
) -> FlowPageResult:
    """Newest first; `query` matches names case-insensitively; archived flows only when
    asked. Each annotator adds its fields to the items of the page."""
    wrong = text_problem(query) if query is not None else None
    if wrong:
        raise ValidationFailed(
            f"The search text {wrong}", errors=[{"loc": ["query", "q"], "msg": wrong}]
        )
    rows = await repository.list_flows(
        session,
        organization_id=organization_id,
        page=page,
        name_contains=query or None,
        include_archived=include_archived,
    )
    flows, next_cursor = split_page(rows, page, key=lambda flow: flow.id)
    annotations: dict[str, dict[str, Any]] = {flow.id: {} for flow in flows}
    for annotator in annotators:
        extra = await annotator(session, organization_id, [flow.id for flow in flows])
        for flow_id, fields in extra.items():
            if flow_id in annotations:
                annotations[flow_id].update(fields)
    return FlowPageResult(list(flows), annotations, next_cursor)


async def list_revisions(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    page: PageParams[int],
) -> RevisionPageResult:
    """Newest first, without definitions."""
    await _get_flow(session, organization_id, flow_id)
    rows = await repository.list_revisions(
        session, organization_id=organization_id, flow_id=flow_id, page=page
    )
    revisions, next_cursor = split_page(rows, page, key=lambda row: row.revision)
    return RevisionPageResult(list(revisions), next_cursor)


async def diff_revisions(
    session: AsyncSession,
    *,
    organization_id: str,
    flow_id: str,
    from_revision: int,
    to_revision: int,
) -> FlowDiff:
    flow = await _get_flow(session, organization_id, flow_id)
    found = await repository.get_revisions(
        session,
        organization_id=organization_id,
        flow_id=flow_id,
        revisions={n for n in (from_revision, to_revision) if _storable_revision(n)},
    )
    for number in (from_revision, to_revision):
        if number not in found:
            raise _revision_not_found(flow_id, number, flow.current_revision)
    return diff_definitions(found[from_revision].definition, found[to_revision].definition)


# --------------------------------------------------------------------------- other domains


async def get_flow_revision(
    session: AsyncSession, organization_id: str, flow_id: str, revision: int | None = None
) -> FlowRevisionView:
    """A flow's definition at `revision` (the current one when None); NotFound when absent."""
    if not _plausible_id(flow_id):
        raise _flow_not_found(flow_id)
    row = None
    if revision is None or _storable_revision(revision):
        row = await repository.runnable_revision(
            session, organization_id=organization_id, flow_id=flow_id, revision=revision
        )
    if row is None:
        raise await _missing(session, organization_id, flow_id, revision)
    found_id, found_org, name, number, current, definition, content_hash, archived, limit = row
    view = FlowRevisionView(
        flow_id=found_id,
        organization_id=found_org,
        name=name,
        revision=number,
        current_revision=current,
        definition=definition,
        content_hash=content_hash,
        archived_at=archived,
        max_concurrent_executions=limit,
        runs_on={str(k): str(v) for k, v in _runs_on(definition).items()},
    )
    if revision is None:
        _keep_current_revision(view)
    return view


# Every execution request reads its flow's current revision; revisions are immutable, so a
# copy serves until the flow moves on, which the writer's guard detects (see the docstring).
CURRENT_REVISIONS = SizedLRU[tuple[str, str], FlowRevisionView](
    max_entries=1024, max_bytes=64 * 1024 * 1024, max_entry_bytes=1024 * 1024
)


def cached_current_revision(organization_id: str, flow_id: str) -> FlowRevisionView | None:
    return CURRENT_REVISIONS.get((organization_id, flow_id))


def forget_current_revision(organization_id: str, flow_id: str) -> None:
    CURRENT_REVISIONS.forget((organization_id, flow_id))


def _keep_current_revision(view: FlowRevisionView) -> None:
    if view.archived_at is not None or view.revision != view.current_revision:
        return
    # Measured once per copy, on a read that decoded the definition anyway.
    size = json_bytes(view.definition)
    CURRENT_REVISIONS.put((view.organization_id, view.flow_id), view, size)


async def flow_exists(session: AsyncSession, organization_id: str, flow_id: str) -> bool:
    if not _plausible_id(flow_id):
        return False
    return await repository.flow_exists(session, organization_id=organization_id, flow_id=flow_id)


async def list_active_flow_ids(
    session: AsyncSession, organization_id: str, flow_ids: Collection[str] | None = None
) -> list[str]:
    if flow_ids is not None:
        flow_ids = [flow_id for flow_id in flow_ids if _plausible_id(flow_id)]
    return await repository.list_active_flow_ids(
        session, organization_id=organization_id, flow_ids=flow_ids
    )


# --------------------------------------------------------------------------- helpers


def _plausible_id(flow_id: str) -> bool:
    """Whether `flow_id` could name a flow at all. Ids are UUIDs: anything else (NUL bytes,
    megabytes of text) is answered as not found without asking the database."""
    return _ID_PATTERN.fullmatch(flow_id) is not None


async def _get_flow(session: AsyncSession, organization_id: str, flow_id: str) -> Flow:
    if not _plausible_id(flow_id):
        raise _flow_not_found(flow_id)
    flow = await repository.get_flow(session, organization_id=organization_id, flow_id=flow_id)
    if flow is None:
        raise _flow_not_found(flow_id)
    return flow


def _flow_not_found(flow_id: str) -> NotFound:
    return NotFound(f"No flow {flow_id} in your organisation")


def _revision_not_found(flow_id: str, revision: int, current: int) -> NotFound:
    return NotFound(
        f"Flow {flow_id} has no revision {revision}; its revisions are 1 to {current}",
        extra={"current_revision": current},
    )


def _storable_revision(number: int) -> bool:
    return 1 <= number <= MAX_REVISION


def revision_number(text: str) -> int:
    """A revision number read from text (a list's cursor); ValueError when no revision could
    have it, which the database's 32-bit column would otherwise refuse with an error."""
    if not text.isdigit() or len(text) > 10 or not _storable_revision(int(text)):
        raise ValueError(f"not a revision number: {text[:20]!r}")
    return int(text)
