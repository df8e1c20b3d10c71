"""The functions other domains call (`flomation.flows.service`), on both databases, and the
seam that lets another domain add fields to the flow list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.api.app import create_app
from flomation.config import Settings
from flomation.db.session import Database
from flomation.errors import NotFound, ValidationFailed
from flomation.flows import repository, service
from flomation.flows.endpoints import add_flow_list_annotator
from flomation.ids import new_id
from tests.factories import Actor, echo_definition, make_actor
from tests.flows.conftest import FLOWS
from tests.live import serve


async def _flow_with_two_revisions(database: Database, owner: Actor) -> str:
    async with database.transaction() as session:
        state = await service.create_flow(
            session,
            organization_id=owner.organization_id,
            author_id=owner.user_id,
            name="Queue me",
            description="",
            definition=echo_definition(runs_on={"location": "onprem"}),
            message=None,
        )
        await service.save_flow(
            session,
            organization_id=owner.organization_id,
            flow_id=state.flow.id,
            author_id=owner.user_id,
            definition=echo_definition(runs_on={"location": "cloud", "gpu": "yes"}),
            base_revision=1,
            message="move to the cloud",
        )
        await service.update_flow(
            session,
            organization_id=owner.organization_id,
            flow_id=state.flow.id,
            changes={"max_concurrent_executions": 3},
        )
        return state.flow.id


async def test_get_flow_revision_gives_the_current_or_an_older_revision(
    database: Database, owner: Actor
) -> None:
    flow_id = await _flow_with_two_revisions(database, owner)
    async with database.transaction() as session:
        current = await service.get_flow_revision(session, owner.organization_id, flow_id)
        first = await service.get_flow_revision(session, owner.organization_id, flow_id, 1)

    assert current.revision == 2
    assert current.current_revision == 2
    assert current.runs_on == {"location": "cloud", "gpu": "yes"}
    assert current.definition == echo_definition(runs_on={"location": "cloud", "gpu": "yes"})
    assert current.max_concurrent_executions == 3
    assert current.name == "Queue me"
    assert current.archived_at is None
    assert first.revision == 1
    assert first.current_revision == 2
    assert first.runs_on == {"location": "onprem"}
    assert first.content_hash == service.content_hash(
        echo_definition(runs_on={"location": "onprem"})
    )


async def test_get_flow_revision_refuses_what_the_organisation_does_not_have(
    database: Database, owner: Actor
) -> None:
    flow_id = await _flow_with_two_revisions(database, owner)
    stranger = await make_actor(database)
    async with database.transaction() as session:
        for organization_id, wanted_flow, revision in (
            (stranger.organization_id, flow_id, None),
            (owner.organization_id, new_id(), None),
            (owner.organization_id, flow_id, 3),
            (owner.organization_id, flow_id, 0),
            (owner.organization_id, "not\x00an id", None),
        ):
            with pytest.raises(NotFound):
                await service.get_flow_revision(session, organization_id, wanted_flow, revision)


async def test_archived_flows_exist_are_readable_but_not_active(
    database: Database, owner: Actor
) -> None:
    kept = await _flow_with_two_revisions(database, owner)
    archived = await _flow_with_two_revisions(database, owner)
    stranger = await make_actor(database)
    async with database.transaction() as session:
        await service.archive_flow(session, organization_id=owner.organization_id, flow_id=archived)
    async with database.transaction() as session:
        view = await service.get_flow_revision(session, owner.organization_id, archived)
        assert view.archived_at is not None
        assert await service.flow_exists(session, owner.organization_id, archived)
        assert not await service.flow_exists(session, stranger.organization_id, archived)
        assert not await service.flow_exists(session, owner.organization_id, new_id())
        assert await service.list_active_flow_ids(session, owner.organization_id) == [kept]
        assert await service.list_active_flow_ids(
            session, owner.organization_id, [archived, kept, "x\x00"]
        ) == [kept]
        assert await service.list_active_flow_ids(session, stranger.organization_id) == []


async def test_a_registered_annotator_adds_fields_to_list_items(
    database: Database, owner: Actor, settings: Settings
) -> None:
    flow_id = await _flow_with_two_revisions(database, owner)
    calls: list[tuple[str, list[str]]] = []

    async def last_execution(
        session: AsyncSession, organization_id: str, flow_ids: Sequence[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        calls.append((organization_id, list(flow_ids)))
        return {flow_id: {"last_execution": {"id": "e1", "status": "succeeded"}}}

    app = create_app(settings, database=database)
    add_flow_list_annotator(app, last_execution)
    async with serve(app) as api, api.client(owner.headers) as client:
        items = (await client.get(FLOWS)).json()["items"]
    assert items[0]["last_execution"] == {"id": "e1", "status": "succeeded"}
    assert items[0]["id"] == flow_id
    assert calls == [(owner.organization_id, [flow_id])]


async def test_restoring_a_revision_that_no_longer_validates_writes_nothing(
    database: Database, owner: Actor
) -> None:
    flow_id = await _flow_with_two_revisions(database, owner)
    outdated = echo_definition()
    outdated["nodes"][1]["type"] = "retired_node_type"
    async with database.transaction() as session:
        # As if a node type was uninstalled after revision 3 was saved.
        await repository.advance_revision(
            session,
            organization_id=owner.organization_id,
            flow_id=flow_id,
            base_revision=2,
            runs_on={},
        )
        await repository.insert_revision(
            session,
            flow_id=flow_id,
            revision=3,
            definition=outdated,
            content_hash=service.content_hash(outdated),
            author_id=None,
            message=None,
        )
    async with database.transaction() as session:
        with pytest.raises(ValidationFailed) as refused:
            await service.restore_revision(
                session,
                organization_id=owner.organization_id,
                flow_id=flow_id,
                revision=3,
                author_id=owner.user_id,
                message=None,
            )
    assert refused.value.errors is not None
    assert refused.value.errors[0]["loc"][:5] == ["revisions", 3, "definition", "nodes", 1]
    assert refused.value.errors[0]["node_id"] == "double"
    async with database.transaction() as session:
        view = await service.get_flow_revision(session, owner.organization_id, flow_id)
    assert view.revision == 3
