"""Helpers for the flows tests: an owner's client on the live API, and flows created and saved
through it."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.factories import Actor, echo_definition
from tests.live import LiveServer

FLOWS = "/api/v1/flows"


def edited(definition: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(definition)


@pytest.fixture
async def client(api: LiveServer, owner: Actor) -> AsyncIterator[httpx.AsyncClient]:
    async with api.client(owner.headers) as http:
        yield http


async def create_flow(
    http: httpx.AsyncClient,
    *,
    name: str = "Echo",
    definition: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    response = await http.post(
        FLOWS, json={"name": name, "definition": definition or echo_definition(), **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def save_flow(
    http: httpx.AsyncClient, flow_id: str, definition: dict[str, Any], base: int, **fields: Any
) -> dict[str, Any]:
    response = await http.put(
        f"{FLOWS}/{flow_id}", json={"definition": definition, "base_revision": base, **fields}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
