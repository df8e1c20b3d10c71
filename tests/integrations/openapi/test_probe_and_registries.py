"""Testing a connection of an imported type, and the registries an organisation sees."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from flomation.engine.egress import AddressPolicy
from flomation.engine.nodes.base import (
    AuthenticationError,
    BlockedError,
    ConnectionFailedError,
    EngineServices,
)
from flomation.engine.nodes.registry import default_registry
from flomation.integrations.openapi import (
    ImportedService,
    connection_type_registry,
    import_openapi,
    node_registry,
)
from flomation.integrations.registry import connection_types

from .petstore import API_KEY, PetstoreServer, fixture_text, petstore_server


@pytest.fixture(scope="module")
def petstore() -> ImportedService:
    return import_openapi("petstore", fixture_text("petstore3.yaml"))


@pytest.fixture(scope="module")
def server() -> Iterator[PetstoreServer]:
    with petstore_server() as running:
        yield running


async def probe(service: ImportedService, values: dict[str, str], **services: object) -> str:
    assert service.connection_type.probe is not None
    engine = EngineServices(**services)  # type: ignore[arg-type]
    try:
        return await service.connection_type.probe(values, engine, 5.0)
    finally:
        await engine.aclose()


async def test_the_probe_reaches_the_service_with_its_credentials(petstore, server) -> None:
    server.requests.clear()

    message = await probe(petstore, {"base_url": server.base_url, "api_key": API_KEY})

    # The Petstore has no operation at its base URL: reaching it is what the probe proves.
    assert message == f"reached {server.base_url} (404 Not Found)"
    [request] = server.requests
    assert (request.path, request.headers["api_key"]) == ("/v3", API_KEY)


async def test_the_probe_says_when_the_credentials_are_refused(petstore, server) -> None:
    with pytest.raises(AuthenticationError, match=r"refused the credentials \(401"):
        await probe(petstore, {"base_url": server.base_url, "api_key": "nope"})


async def test_the_probe_says_when_nothing_answers(petstore) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ConnectionFailedError, match="could not connect"):
        await probe(petstore, {"base_url": f"http://127.0.0.1:{port}/v3", "api_key": API_KEY})


async def test_the_probe_honours_the_egress_policy(petstore, server) -> None:
    with pytest.raises(BlockedError):
        await probe(
            petstore,
            {"base_url": server.base_url, "api_key": API_KEY},
            egress=AddressPolicy.preset("shared_cloud"),
        )


def test_the_node_registry_adds_the_services_types(petstore) -> None:
    apisguru = import_openapi("apisguru", fixture_text("apisguru-2.2.0.yaml"))

    registry = node_registry([petstore, apisguru])

    assert set(default_registry().names()) < set(registry.names())
    assert "openapi.petstore.getPetById" in registry
    assert "openapi.apisguru.getMetrics" in registry
    assert "openapi.petstore.getPetById" not in default_registry()


def test_the_connection_type_registry_adds_the_services_types(petstore) -> None:
    registry = connection_type_registry([petstore])

    assert set(registry.names()) == {*connection_types().names(), "openapi.petstore"}
    assert registry.get("openapi.petstore") is petstore.connection_type
    assert "openapi.petstore" not in connection_types()


def test_a_service_imported_twice_is_refused_by_the_registry(petstore) -> None:
    with pytest.raises(ValueError, match="already registered"):
        node_registry([petstore, import_openapi("petstore", fixture_text("petstore3.yaml"))])
