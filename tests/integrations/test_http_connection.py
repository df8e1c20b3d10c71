"""The http node with an `http` connection (base URL, authentication, headers) and the
connection type's probe, against HTTP servers on loopback."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import jsonschema
import pytest

from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import AuthenticationError, ConfigError, EngineServices
from flomation.engine.nodes.http import HttpNode
from flomation.integrations.registry import connection_types, make_connection
from tests.integrations.msg_fixtures import (
    FakeServer,
    Received,
    connection,
    run_node,
    serve_fake,
    single_node_flow,
)

TOKEN = "tok-0123456789abcdefSECRET"


def echo(received: Received) -> tuple[int, dict[str, str], Any]:
    """Answers what it got; `/redirect?to=URL` redirects, `/private` wants the token."""
    query = parse_qs(received.headers.get("x-query", ""))
    if received.path.endswith("/redirect"):
        return 302, {"Location": query["to"][0]}, ""
    if received.path.endswith("/private") and (
        received.headers.get("authorization") != f"Bearer {TOKEN}"
    ):
        return 401, {}, {"error": "who are you?"}
    headers = {k: v for k, v in received.headers.items() if k != "x-query"}
    return 200, {}, {"path": received.path, "query": query, "headers": headers}


@pytest.fixture(scope="module")
def origin() -> Iterator[FakeServer]:
    yield from serve_fake(FakeServer(echo))


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[FakeServer]:
    """A second origin (another port), where credentials must not follow."""
    yield from serve_fake(FakeServer(echo))


async def call(config: dict[str, Any], values: dict[str, Any]) -> Any:
    outcome = await run_node(HttpNode(), {"connection": "api", **config}, api(values))
    return outcome.output


def api(values: dict[str, Any]) -> Any:
    return connection("http", values, "api")


async def test_a_relative_url_is_appended_to_the_base_url(origin: FakeServer) -> None:
    output = await call({"url": "/users/7"}, {"base_url": origin.url + "/api/v1/"})
    assert output["status"] == 200
    assert output["body"]["path"] == "/api/v1/users/7"


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({"auth": "bearer", "token": TOKEN}, ("authorization", f"Bearer {TOKEN}")),
        (
            {"auth": "basic", "username": "ann", "password": TOKEN},
            ("authorization", "Basic " + base64.b64encode(f"ann:{TOKEN}".encode()).decode()),
        ),
        (
            {"auth": "header", "header_name": "X-API-Key", "header_value": TOKEN},
            ("x-api-key", TOKEN),
        ),
        (
            {"auth": "oauth2_client_credentials", "access_token": TOKEN},
            ("authorization", f"Bearer {TOKEN}"),
        ),
    ],
)
async def test_each_auth_kind_sends_its_credentials(
    origin: FakeServer, auth: dict[str, Any], expected: tuple[str, str]
) -> None:
    output = await call({"url": "/x"}, {"base_url": origin.url, **auth})
    name, value = expected
    assert output["body"]["headers"][name] == value


async def test_query_auth_adds_its_parameter_to_the_nodes_query(origin: FakeServer) -> None:
    values = {"base_url": origin.url, "auth": "query", "query_name": "key", "query_value": TOKEN}
    output = await call({"url": "/x?page=2", "query": {"q": "cats"}}, values)
    assert output["body"]["query"] == {"page": ["2"], "q": ["cats"], "key": [TOKEN]}


async def test_node_headers_win_over_defaults_but_not_over_credentials(origin: FakeServer) -> None:
    values = {
        "base_url": origin.url,
        "headers": {"Accept": "application/xml", "X-Team": "core"},
        "auth": "header",
        "header_name": "X-API-Key",
        "header_value": TOKEN,
    }
    output = await call(
        {"url": "/x", "headers": {"accept": "application/json", "X-API-Key": "mine"}}, values
    )
    headers = output["body"]["headers"]
    assert headers["accept"] == "application/json"
    assert headers["x-team"] == "core"
    assert headers["x-api-key"] == TOKEN


async def test_an_absolute_url_must_stay_under_the_base_url(
    origin: FakeServer, elsewhere: FakeServer
) -> None:
    values = {"base_url": origin.url + "/api", "auth": "bearer", "token": TOKEN}
    output = await call({"url": origin.url + "/api/users"}, values)
    assert output["body"]["path"] == "/api/users"
    for outside in (elsewhere.url + "/api/users", origin.url + "/apiary", origin.url + "/"):
        with pytest.raises(ConfigError) as caught:
            await call({"url": outside}, values)
        assert caught.value.field == "url"


async def test_credentials_do_not_follow_a_redirect_to_another_origin(
    origin: FakeServer, elsewhere: FakeServer
) -> None:
    values = {
        "base_url": origin.url,
        "auth": "header",
        "header_name": "X-API-Key",
        "header_value": TOKEN,
    }
    away = await call({"url": "/redirect", "query": {"to": elsewhere.url + "/landed"}}, values)
    assert away["body"]["path"] == "/landed"
    assert "x-api-key" not in away["body"]["headers"]
    home = await call({"url": "/redirect", "query": {"to": origin.url + "/landed"}}, values)
    assert home["body"]["headers"]["x-api-key"] == TOKEN


async def test_oauth2_without_a_token_yet_is_an_authentication_error(origin: FakeServer) -> None:
    values = {
        "base_url": origin.url,
        "auth": "oauth2_authorization_code",
        "authorization_url": "https://id.example/authorize",
        "token_url": "https://id.example/token",
        "client_id": "flomation",
    }
    with pytest.raises(AuthenticationError) as caught:
        await call({"url": "/x"}, values)
    assert "no OAuth 2 access token" in caught.value.message


async def test_a_connection_of_another_type_is_refused(origin: FakeServer) -> None:
    with pytest.raises(ConfigError) as caught:
        await run_node(
            HttpNode(),
            {"connection": "api", "url": "/x"},
            connection("slack", {"bot_token": "x"}, "api"),
        )
    assert "'slack'" in caught.value.message


def test_a_relative_url_is_valid_only_with_a_connection() -> None:
    node = HttpNode()
    assert node.check_config({"url": "/users", "connection": "api"}) == []
    assert node.check_config({"url": "/users"}) == [
        ("url", "the URL must start with http:// or https://")
    ]
    assert node.connection_types == ("http",)
    assert node.connection_refs({"url": "/users", "connection": "api"}) == {"api"}


def test_the_schema_asks_for_each_auth_kinds_fields() -> None:
    http = connection_types().get("http")
    assert http is not None
    validator = jsonschema.Draft202012Validator(http.schema)
    assert validator.is_valid({"base_url": "https://api.example", "auth": "bearer", "token": "t"})
    assert not validator.is_valid({"base_url": "https://api.example", "auth": "bearer"})
    assert not validator.is_valid({"base_url": "https://api.example", "auth": "header"})
    assert not validator.is_valid({"base_url": "ftp://api.example"})
    assert http.secret_fields == frozenset(
        {
            "token",
            "password",
            "header_value",
            "query_value",
            "client_secret",
            "access_token",
            "refresh_token",
        }
    )


async def test_the_probe_checks_reachability_or_the_probe_path(origin: FakeServer) -> None:
    http = connection_types().get("http")
    assert http is not None
    assert http.probe is not None
    services = EngineServices()
    try:
        assert await http.probe({"base_url": origin.url}, services, 5) == (
            f"{origin.url} answered HTTP 200"
        )
        good = {"base_url": origin.url, "auth": "bearer", "token": TOKEN, "probe_path": "/private"}
        assert (await http.probe(good, services, 5)).endswith("answered HTTP 200")
        with pytest.raises(AuthenticationError) as caught:
            await http.probe({**good, "token": "wrong"}, services, 5)
        assert "HTTP 401" in caught.value.message
    finally:
        await services.aclose()


@pytest.mark.parametrize(
    "auth",
    [
        {"auth": "bearer", "token": TOKEN},
        {"auth": "basic", "username": "ann", "password": TOKEN},
        {"auth": "header", "header_name": "X-API-Key", "header_value": TOKEN},
        {"auth": "query", "query_name": "key", "query_value": TOKEN + "/+="},
    ],
)
async def test_through_the_engine_an_echoed_credential_is_masked(
    origin: FakeServer, auth: dict[str, str]
) -> None:
    # The echo server answers the headers and query it got: the credential is in the body,
    # as sent (base64 inside `Basic`, percent-encoded in the query).
    run = await run_flow(
        single_node_flow("http", {"connection": "api", "url": "/whoami"}),
        connections={"api": api({"base_url": origin.url, **auth})},
    )
    assert run["status"] == "succeeded"
    [step] = [s for s in run["steps"] if s["node_id"] == "call"]
    assert step["output"]["status"] == 200
    recorded = json.dumps(run)
    assert TOKEN not in recorded
    assert base64.b64encode(f"ann:{TOKEN}".encode()).decode() not in recorded
    assert "***" in recorded


async def test_a_connection_that_needs_reconnecting_fails_the_node(origin: FakeServer) -> None:
    values = {"base_url": origin.url, "auth": "oauth2_client_credentials", "access_token": "t"}
    stale = make_connection("api", "http", values, status="needs_reconnect")
    with pytest.raises(AuthenticationError) as caught:
        await run_node(HttpNode(), {"connection": "api", "url": "/never-sent"}, stale)
    assert "needs reconnecting" in caught.value.message
    assert all(r.path != "/never-sent" for r in origin.requests)
