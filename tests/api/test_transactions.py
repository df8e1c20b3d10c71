"""The request edge owns the transaction: a write is committed before its answer leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import select
from starlette.types import Message, Receive, Scope, Send

from flomation.api.deps import SessionDep, one_statement_writes
from flomation.api.problems import install_problem_handlers
from flomation.config import Settings
from flomation.db.session import Database, is_autocommit
from flomation.errors import Conflict
from flomation.models.auth import Organization
from tests.live import LiveServer, serve

router = APIRouter()


@router.post("/test/organizations/{name}", status_code=201)
async def create_organization(name: str, session: SessionDep) -> dict[str, str]:
    organization = Organization(name=name)
    session.add(organization)
    await session.flush()
    return {"id": organization.id}


@router.post("/test/organizations/{name}/then-fail")
async def create_then_fail(name: str, session: SessionDep) -> None:
    session.add(Organization(name=name))
    await session.flush()
    raise Conflict("refused after writing")


@router.get("/session-kind/plain")
async def plain_session_kind(session: SessionDep) -> dict[str, bool]:
    return {"autocommit": is_autocommit(session)}


@router.get("/session-kind/one-statement")
@one_statement_writes
async def one_statement_session_kind(session: SessionDep) -> dict[str, bool]:
    return {"autocommit": is_autocommit(session)}


class SeesCommittedRows:
    """At the moment the response starts, looks (on another connection) for the row."""

    def __init__(self, app: FastAPI, database: Database) -> None:
        self.app = app
        self.database = database
        self.seen: dict[str, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def checking_send(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["path"].startswith("/test/"):
                name = scope["path"].split("/")[3]
                async with self.database.sessions() as other:
                    found = await other.scalar(
                        select(Organization.id).where(Organization.name == name)
                    )
                self.seen[name] = found is not None
            await send(message)

        await self.app(scope, receive, checking_send)


@pytest.fixture
async def probed(
    settings: Settings, database: Database
) -> AsyncIterator[tuple[LiveServer, SeesCommittedRows]]:
    # A bare app with our dependencies and error handlers: what is proven is `SessionDep`.
    app = FastAPI()
    app.state.settings = settings
    app.state.database = database
    install_problem_handlers(app)
    app.include_router(router)
    probe = SeesCommittedRows(app, database)
    # LiveServer.app is typed Starlette for the fixtures that read its state; serve() runs
    # this bare ASGI wrapper all the same.
    async with serve(probe) as server:  # type: ignore[arg-type]
        yield server, probe


async def test_a_write_is_committed_before_the_response_starts(
    probed: tuple[LiveServer, SeesCommittedRows],
) -> None:
    server, probe = probed
    async with server.client() as client:
        response = await client.post("/test/organizations/committed-first")
    assert response.status_code == 201
    assert probe.seen["committed-first"] is True


async def test_a_handler_that_fails_after_writing_leaves_nothing(
    probed: tuple[LiveServer, SeesCommittedRows], database: Database
) -> None:
    server, _ = probed
    async with server.client() as client:
        response = await client.post("/test/organizations/half-written/then-fail")
    assert response.status_code == 409
    async with database.sessions() as session:
        found = await session.scalar(
            select(Organization).where(Organization.name == "half-written")
        )
    assert found is None


async def test_only_endpoints_marked_one_statement_writes_commit_statement_by_statement(
    probed: tuple[LiveServer, SeesCommittedRows], database: Database
) -> None:
    server, _ = probed
    async with server.client() as client:
        plain = (await client.get("/session-kind/plain")).json()
        marked = (await client.get("/session-kind/one-statement")).json()
    assert plain == {"autocommit": False}
    # SQLite's writers need their BEGIN IMMEDIATE: a marked endpoint keeps its transaction there.
    assert marked == {"autocommit": database.is_postgres}
