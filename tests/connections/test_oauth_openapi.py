"""An imported OpenAPI service whose document asks for OAuth 2 client credentials, against the
real authorization server (Authlib's, on loopback), on SQLite and PostgreSQL: the claim
obtains the token (its URL and scopes from the document's defaults), and a 401 from the
service makes the operation's node refresh once (the API's refresh, through the engine's
hook) and retry once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from flomation.connections import oauth, service
from flomation.db.session import Database
from flomation.engine.executor import Executor
from flomation.engine.nodes.base import Connection, EngineServices
from flomation.engine.plan import FlowPlan
from flomation.integrations.openapi.build import import_openapi
from flomation.integrations.openapi.registries import node_registry
from flomation.integrations.openapi.service import ImportedService
from flomation.integrations.registry import connection_types, make_connection
from tests.connections.oauth_helpers import claim
from tests.connections.oauth_server import CLIENT_ID, CLIENT_SECRET, OAuthServer, running
from tests.connections.test_connections_api import keyring
from tests.factories import Actor


@pytest.fixture
async def server() -> AsyncIterator[OAuthServer]:
    async with running() as started:
        yield started


def document(server: OAuthServer) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Protected", "version": "1"},
        "servers": [{"url": server.base_url}],
        "paths": {
            "/resource": {
                "get": {"operationId": "getResource", "responses": {"200": {"description": "ok"}}}
            }
        },
        "security": [{"machine": ["read"]}],
        "components": {
            "securitySchemes": {
                "machine": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": server.token_url,
                            "scopes": {"read": "read it"},
                        }
                    },
                }
            }
        },
    }


@pytest.fixture
def imported(server: OAuthServer) -> Iterator[ImportedService]:
    """The service's connection type known to this process while the test runs."""
    found = import_openapi("protected", json.dumps(document(server)))
    types = connection_types()
    types.add(found.connection_type, replace=True)
    try:
        yield found
    finally:
        types._types.pop(found.connection_type.type, None)


async def test_an_imported_services_node_refreshes_once_on_401_and_retries(
    database: Database, owner: Actor, server: OAuthServer, imported: ImportedService
) -> None:
    org = owner.organization_id
    kind = imported.connection_type.type
    async with database.transaction() as session:
        # Only the client's credentials: the token URL and scopes are the document's.
        await service.put_connection(
            session,
            organization_id=org,
            name="protected",
            type_name=kind,
            values={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            keyring=keyring(),
        )
    claimed = await claim(database, org, "protected")
    refused = claimed.values["access_token"]
    assert server.valid(refused)
    assert server.grants["client_credentials"] == 1
    server.revoke_access_tokens()

    asked: list[str] = []

    async def refresher(connection: Connection) -> Connection | None:
        # What the runner's hook does, minus the signed HTTP call: the API's refresh.
        asked.append(connection.name)
        async with database.transaction() as session:
            fresh = await oauth.refresh_after_refusal(
                session,
                organization_id=org,
                name=connection.name,
                refused_token_sha256=oauth.token_sha256(connection.values.get("access_token")),
                keyring=keyring(),
            )
        return make_connection(connection.name, fresh.type, fresh.values, fresh.status)

    [node_type] = imported.node_types
    registry = node_registry([imported])
    plan = FlowPlan.from_document(
        {
            "version": 1,
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "get", "type": node_type.type, "config": {"connection": "protected"}},
                {"id": "out", "type": "return", "config": {"value": "{{ nodes.get.output }}"}},
            ],
            "edges": [{"from": "start", "to": "get"}, {"from": "get", "to": "out"}],
        },
        registry=registry,
    )
    services = EngineServices(connection_refresher=refresher)
    executor = Executor(
        plan,
        services=services,
        connections={"protected": make_connection("protected", kind, claimed.values)},
    )
    try:
        result = await executor.run({})
    finally:
        await services.aclose()
    assert result.status == "succeeded", result.error
    assert result.output["status"] == 200
    assert result.output["body"] == {"ok": True, "client_id": CLIENT_ID}
    assert asked == ["protected"]
    assert server.grants["client_credentials"] == 2
    fresh = server.resource_calls[1]
    assert server.resource_calls == [refused, fresh]
    assert fresh is not None
    assert server.valid(fresh)
