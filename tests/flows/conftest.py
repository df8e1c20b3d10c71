"""Helpers for the flows tests: sample definitions and an owner's client on the live API."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.factories import Actor
from tests.live import LiveServer

FLOWS = "/api/v1/flows"


def echo_definition(**settings: Any) -> dict[str, Any]:
    """The spec's echo example: start -> double -> out."""
    return {
        "version": 1,
        **settings,
        "nodes": [
            {"id": "start", "type": "start", "position": {"x": 0, "y": 0}},
            {
                "id": "double",
                "type": "set",
                "config": {"values": {"m": "{{ input.n * 2 }}", "tag": "ok"}},
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
