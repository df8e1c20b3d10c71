"""How a generated node sends credentials and parameters, seen by a server on loopback; and
that it goes through the runner's egress policy."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from flomation.engine.egress import AddressPolicy
from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import EngineServices
from flomation.engine.plan import FlowPlan
from flomation.integrations.openapi import ImportedService, import_openapi

from .petstore import PetstoreServer, petstore_server
from .test_run import registry_with


def _operation(security: list[dict[str, list[str]]] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "parameters": [
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
            {
                "name": "tags",
                "in": "query",
                "schema": {"type": "array", "items": {"type": "string"}},
            },
            {
                "name": "ids",
                "in": "query",
                "explode": False,
                "schema": {"type": "array", "items": {"type": "integer"}},
            },
            {"name": "X-Request-Id", "in": "header", "schema": {"type": "string"}},
            {
                "name": "filter",
                "in": "query",
                "style": "deepObject",
                "explode": True,
                "schema": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            {
                "name": "pipes",
                "in": "query",
                "style": "pipeDelimited",
                "explode": False,
                "schema": {"type": "array", "items": {"type": "string"}},
            },
        ],
        "responses": {"200": {"description": "what the server saw"}},
    }
    if security is not None:
        operation["security"] = security
    return operation


DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "Echo", "version": "1"},
    "paths": {
        "/echo/bearer/{id}": {"get": {"operationId": "bearer", **_operation([{"bearer": []}])}},
        "/echo/basic/{id}": {"get": {"operationId": "basic", **_operation([{"basic": []}])}},
        "/echo/cookie/{id}": {"get": {"operationId": "cookie", **_operation([{"partner": []}])}},
        "/echo/query/{id}": {"get": {"operationId": "query", **_operation([{"token": []}])}},
        "/echo/machine/{id}": {"get": {"operationId": "machine", **_operation([{"machine": []}])}},
        "/echo/optional/{id}": {
            "get": {"operationId": "optional", **_operation([{"bearer": []}, {}])}
        },
        "/moved": {"get": {"operationId": "moved", **_operation([{"partner": []}])}},
        "/echo/both/{id}": {
            "get": {"operationId": "both", **_operation([{"bearer": [], "partner": []}])}
        },
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "partner": {"type": "apiKey", "in": "cookie", "name": "partner"},
            "token": {"type": "apiKey", "in": "query", "name": "token"},
            "machine": {
                "type": "oauth2",
                "flows": {"clientCredentials": {"tokenUrl": "https://a.example/t", "scopes": {}}},
            },
        }
    },
}

VALUES = {
    "bearer_token": "bearer-secret-1",
    "basic_username": "ada",
    "basic_password": "basic-secret-2",
    "partner": "partner-secret-3",
    "token": "query-secret-4",
    "client_id": "flomation",
    "client_secret": "client-secret-5",
    "access_token": "access-secret-6",
}


@pytest.fixture(scope="module")
def echo() -> ImportedService:
    return import_openapi("echo", json.dumps(DOCUMENT))


@pytest.fixture(scope="module")
def server() -> Iterator[PetstoreServer]:
    with petstore_server() as running:
        yield running


async def call(
    service: ImportedService,
    server: PetstoreServer,
    operation: str,
    config: dict[str, Any],
    values: dict[str, Any] | None = None,
    services: EngineServices | None = None,
) -> dict[str, Any]:
    doc = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "call",
                "type": f"openapi.echo.{operation}",
                "config": {"connection": "echo", "path": {"id": "1"}, **config},
            },
        ],
        "edges": [{"from": "start", "to": "call"}],
    }
    plan = FlowPlan.from_document(doc, registry=registry_with(service))
    connection = service.connection_type.connection(
        "echo", {"base_url": f"http://{server.origin}", **(VALUES if values is None else values)}
    )
    return await run_flow(plan, None, connections={"echo": connection}, services=services)


def seen(server: PetstoreServer) -> Any:
    return server.requests[-1]


@pytest.mark.parametrize(
    ("operation", "header", "value"),
    [
        ("bearer", "authorization", "Bearer bearer-secret-1"),
        ("basic", "authorization", "Basic " + base64.b64encode(b"ada:basic-secret-2").decode()),
        ("cookie", "cookie", "partner=partner-secret-3"),
        ("machine", "authorization", "Bearer access-secret-6"),
    ],
)
async def test_each_kind_of_credential_is_sent(echo, server, operation, header, value) -> None:
    execution = await call(echo, server, operation, {})

    assert execution["status"] == "succeeded", execution.get("error")
    assert seen(server).headers[header] == value
    # Only the operation's scheme is sent.
    assert sum(h in seen(server).headers for h in ("authorization", "cookie")) == 1


async def test_an_api_key_in_the_query_is_sent_and_masked(echo, server) -> None:
    execution = await call(echo, server, "query", {})

    assert execution["status"] == "succeeded", execution.get("error")
    assert seen(server).query["token"] == ["query-secret-4"]
    assert "query-secret-4" not in json.dumps(execution)


async def test_a_requirement_of_two_schemes_sends_both(echo, server) -> None:
    execution = await call(echo, server, "both", {})

    assert execution["status"] == "succeeded", execution.get("error")
    assert seen(server).headers["authorization"] == "Bearer bearer-secret-1"
    assert seen(server).headers["cookie"] == "partner=partner-secret-3"


async def test_optional_security_without_credentials_sends_none(echo, server) -> None:
    execution = await call(echo, server, "optional", {}, values={})

    assert execution["status"] == "succeeded", execution.get("error")
    assert "authorization" not in seen(server).headers


async def test_parameters_are_sent_as_their_style_says(echo, server) -> None:
    execution = await call(
        echo,
        server,
        "optional",
        {
            "query": {
                "tags": ["a", "b c"],
                "ids": [1, 2, 3],
                "filter": {"colour": "red", "size": "L"},
                "pipes": ["x", "y"],
            },
            "headers": {"X-Request-Id": "r-1"},
        },
    )

    assert execution["status"] == "succeeded", execution.get("error")
    request = seen(server)
    assert request.query == {
        "tags": ["a", "b c"],
        "ids": ["1,2,3"],
        "filter[colour]": ["red"],
        "filter[size]": ["L"],
        "pipes": ["x|y"],
    }
    assert request.headers["x-request-id"] == "r-1"
    assert request.path == "/echo/optional/1"


async def test_the_egress_policy_is_honoured(echo, server) -> None:
    before = len(server.requests)
    services = EngineServices(egress=AddressPolicy.preset("shared_cloud"))

    execution = await call(echo, server, "bearer", {}, services=services)

    assert execution["status"] == "failed"
    error = next(s for s in execution["steps"] if s["node_id"] == "call")["error"]
    assert error["type"] == "blocked"
    assert len(server.requests) == before


async def test_a_header_value_with_a_line_break_fails_the_node(echo, server) -> None:
    before = len(server.requests)

    execution = await call(
        echo, server, "optional", {"headers": {"X-Request-Id": "{{ 'a\\r\\nX-Evil: 1' }}"}}
    )

    assert execution["status"] == "failed"
    error = next(s for s in execution["steps"] if s["node_id"] == "call")["error"]
    assert (error["type"], "line break" in error["message"]) == ("config", True)
    assert len(server.requests) == before


async def test_a_redirect_is_not_followed_with_the_credentials(echo, server) -> None:
    before = len(server.requests)

    execution = await call(echo, server, "moved", {})

    assert execution["status"] == "failed"
    error = next(s for s in execution["steps"] if s["node_id"] == "call")["error"]
    assert error["type"] == "http_status"
    assert error["message"].startswith("moved (GET /moved) answered 302")
    assert "redirects are not followed" in error["message"]
    assert len(server.requests) == before + 1
