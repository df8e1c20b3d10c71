"""Every list of the API takes only the cursors it gave out: anything else is a 422
problem+json on `query.cursor`, before the list is read."""

from __future__ import annotations

import pytest

from flomation.ids import new_id
from flomation.pagination import encode_cursor
from tests.factories import Actor
from tests.live import LiveServer

_DEFINITION = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start", "position": {"x": 0, "y": 0}},
        {"id": "out", "type": "return", "config": {"value": 1}, "position": {"x": 200, "y": 0}},
    ],
    "edges": [{"from": "start", "to": "out"}],
}

# path (`{flow}` is a flow of the caller's), the list's name, a key of the list's kind
LISTS = [
    ("/api/v1/flows", "flows", new_id()),
    ("/api/v1/flows/{flow}/revisions", "revisions", 3),
    ("/api/v1/flows/{flow}/triggers", "triggers", new_id()),
    ("/api/v1/executions", "executions", new_id()),
    ("/api/v1/runners", "runners", new_id()),
    ("/api/v1/runner-tokens", "runner tokens", new_id()),
    ("/api/v1/tokens", "tokens", new_id()),
    ("/api/v1/users", "users", new_id()),
]


def _tampered(cursor: str) -> str:
    """One character of the middle changed: the cursor still decodes, to other bytes."""
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]


@pytest.mark.parametrize(("path", "name", "key"), LISTS, ids=[name for _, name, _ in LISTS])
async def test_a_list_refuses_every_cursor_it_did_not_give_out(
    api: LiveServer, owner: Actor, path: str, name: str, key: object
) -> None:
    async with api.client(owner.headers) as client:
        created = await client.post(
            "/api/v1/flows", json={"name": "Listed", "definition": _DEFINITION}
        )
        assert created.status_code == 201, created.text
        url = path.format(flow=created.json()["id"])
        other = next(other for _, other, _ in LISTS if other != name)
        refused = {
            "not base64": "%%%not-a-cursor",
            "raw id": new_id(),
            "another list's": encode_cursor(other, key),
            "tampered": _tampered(encode_cursor(name, key)),
            "NUL in the key": encode_cursor(name, "\x00"),
        }
        own = await client.get(url, params={"cursor": encode_cursor(name, key)})
        answers = {
            why: await client.get(url, params={"cursor": cursor}) for why, cursor in refused.items()
        }
    assert own.status_code == 200, own.text
    for why, answer in answers.items():
        assert answer.status_code == 422, (why, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json"), why
        assert answer.json()["errors"] == [{"loc": ["query", "cursor"], "msg": "invalid cursor"}]
