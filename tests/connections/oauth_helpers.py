"""What the OAuth 2 tests share: connection values pointing at the test's authorization
server, storing and claiming them, and running the `http` node against its resource."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from flomation.connections import service
from flomation.db.session import Database
from flomation.engine.executor import ExecutionResult, Executor
from flomation.engine.nodes.base import EngineServices
from flomation.engine.plan import FlowPlan
from flomation.integrations.registry import make_connection
from flomation.models.connections import Connection
from flomation.protocol import ClaimedConnection
from tests.connections.oauth_server import CLIENT_ID, CLIENT_SECRET, PUBLIC_CLIENT_ID, OAuthServer
from tests.connections.test_connections_api import keyring


def client_credentials(server: OAuthServer, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": server.base_url,
        "auth": "oauth2_client_credentials",
        "token_url": server.token_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scopes": "read",
        **extra,
    }


def authorization_code(server: OAuthServer, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": server.base_url,
        "auth": "oauth2_authorization_code",
        "authorization_url": server.authorize_url,
        "token_url": server.token_url,
        "client_id": PUBLIC_CLIENT_ID,
        "scopes": "read",
        **extra,
    }


async def put(database: Database, organization_id: str, name: str, values: dict[str, Any]) -> None:
    async with database.transaction() as session:
        await service.put_connection(
            session,
            organization_id=organization_id,
            name=name,
            type_name="http",
            values=values,
            keyring=keyring(),
        )


async def claim(database: Database, organization_id: str, name: str) -> ClaimedConnection:
    """The connection as a claim carries it (refreshed when due, in the claim's transaction)."""
    async with database.transaction() as session:
        found = await service.resolve_for_runner(
            session, organization_id, [name], keyring=keyring()
        )
    return found[name]


async def row(database: Database, organization_id: str, name: str) -> Connection:
    async with database.transaction() as session:
        found = (
            await session.scalars(
                select(Connection).where(
                    Connection.organization_id == organization_id, Connection.name == name
                )
            )
        ).one()
        session.expunge(found)
        return found


async def stored_values(database: Database, organization_id: str, name: str) -> dict[str, Any]:
    """The values as stored (decrypted), the API's own fields included."""
    return service.decrypt_values(await row(database, organization_id, name), keyring())


def resource_flow(connection: str) -> dict[str, Any]:
    """start -> GET /resource through `connection` -> return the body."""
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "call",
                "type": "http",
                "config": {"connection": connection, "url": "/resource"},
            },
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.call.output.body }}"}},
        ],
        "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "out"}],
    }


async def run_resource_flow(
    name: str, claimed: ClaimedConnection, services: EngineServices | None = None
) -> ExecutionResult:
    """The flow, run by the engine as a runner would, with `claimed` as connection `name`."""
    connection = make_connection(name, claimed.type, claimed.values, claimed.status)
    executor = Executor(
        FlowPlan.from_document(resource_flow(name)),
        services=services,
        connections={name: connection},
    )
    try:
        return await executor.run({})
    finally:
        if executor.services is not None:
            await executor.services.aclose()
