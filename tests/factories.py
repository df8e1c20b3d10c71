"""Small factories with keyword overrides for organisations, users, tokens and flows. They
write through the domains' own code and return plain values (ids, tokens) so tests read
clearly. Executions have theirs in tests/executions/factories.py."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.auth.passwords import hash_password
from flomation.auth.tokens import API_TOKEN_PREFIX, generate_token, hash_token
from flomation.db.session import Database
from flomation.flows import service as flows
from flomation.models.auth import AccessToken, Membership, Organization, User

_counter = itertools.count(1)
DEFAULT_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Actor:
    """A user of some organisation with a ready API token."""

    user_id: str
    organization_id: str
    email: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_organization(session: AsyncSession, *, name: str | None = None) -> str:
    organization = Organization(name=name or f"Org {next(_counter)}")
    session.add(organization)
    await session.flush()
    return organization.id


async def make_user(
    session: AsyncSession,
    *,
    organization_id: str,
    role: str = "owner",
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    name: str | None = None,
) -> str:
    number = next(_counter)
    user = User(
        email=email or f"user{number}@example.test",
        name=name or f"User {number}",
        password_hash=hash_password(password),
    )
    session.add(user)
    await session.flush()
    session.add(Membership(user_id=user.id, organization_id=organization_id, role=role))
    await session.flush()
    return user.id


async def make_api_token(
    session: AsyncSession,
    *,
    user_id: str,
    organization_id: str,
    expires_at: datetime | None = None,
    revoked_at: datetime | None = None,
) -> str:
    token = generate_token(API_TOKEN_PREFIX)
    session.add(
        AccessToken(
            kind="api",
            user_id=user_id,
            organization_id=organization_id,
            name="test token",
            token_hash=hash_token(token),
            expires_at=expires_at,
            revoked_at=revoked_at,
        )
    )
    await session.flush()
    return token


async def make_actor(
    database: Database, *, role: str = "owner", organization_id: str | None = None
) -> Actor:
    """A user with a token, in a new organisation unless one is given."""
    async with database.transaction() as session:
        org_id = organization_id or await make_organization(session)
        email = f"actor{next(_counter)}@example.test"
        user_id = await make_user(session, organization_id=org_id, role=role, email=email)
        token = await make_api_token(session, user_id=user_id, organization_id=org_id)
    return Actor(user_id=user_id, organization_id=org_id, email=email, role=role, token=token)


def echo_definition(**settings: Any) -> dict[str, Any]:
    """The echo flow, start -> double -> out: input {"n": 21} gives {"m": 42}. Its start node
    refuses an `n` that is not an integer (an input without one is let through, as the
    security tests send), and its nodes carry positions as the editor saves them. `settings`
    are the flow's own fields (runs_on, timeout_s...)."""
    return {
        "version": 1,
        **settings,
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "config": {
                    "input_schema": {
                        "type": "object",
                        "properties": {"n": {"type": "integer"}},
                    }
                },
                "position": {"x": 0, "y": 0},
            },
            {
                "id": "double",
                "type": "set",
                "config": {"values": {"m": "{{ input.n * 2 }}"}},
                "position": {"x": 200, "y": 0},
            },
            {
                "id": "out",
                "type": "return",
                "config": {"value": {"m": "{{ nodes.double.output.m }}"}},
                "position": {"x": 400, "y": 0},
            },
        ],
        "edges": [{"from": "start", "to": "double"}, {"from": "double", "to": "out"}],
    }


async def make_flow(
    database: Database,
    organization_id: str,
    *,
    definition: dict[str, Any] | None = None,
    name: str = "echo",
    max_concurrent: int | None = None,
) -> str:
    """A flow saved through the flows service (revision 1): the echo flow unless `definition`
    is given. Returns its id."""
    async with database.transaction() as session:
        state = await flows.create_flow(
            session,
            organization_id=organization_id,
            author_id=None,
            name=name,
            description="",
            definition=definition or echo_definition(),
            message=None,
        )
        if max_concurrent is not None:
            await flows.update_flow(
                session,
                organization_id=organization_id,
                flow_id=state.flow.id,
                changes={"max_concurrent_executions": max_concurrent},
            )
        return state.flow.id
