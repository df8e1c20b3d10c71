"""A connection's secret values never reach a stored output or error, even encoded (the engine
masks them as it masks secrets); plain fields pass untouched."""

from __future__ import annotations

import base64
import json

from flomation.engine.executor import run_flow
from flomation.integrations.registry import make_connection

PASSWORD = "conn-password-very-secret-6"


def leak_flow(connection: str) -> dict[str, object]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "leak", "type": "conntest.leak", "config": {"connection": connection}},
        ],
        "edges": [{"from": "start", "to": "leak"}],
    }


async def test_secret_fields_are_masked_in_outputs_and_errors_even_encoded() -> None:
    connections = {
        name: make_connection(
            name, "conntest", {"host": "db.internal", "port": 1, "password": PASSWORD}
        )
        for name in ("plain", "failing")
    }
    done = await run_flow(leak_flow("plain"), {}, connections=connections)
    assert done["status"] == "succeeded", done
    [step] = [s for s in done["steps"] if s["node_id"] == "leak"]
    assert step["output"]["url"] == "db://u:***@h/d"
    assert step["output"]["encoded"] == "***"

    failed = await run_flow(leak_flow("failing"), {}, connections=connections)
    assert failed["status"] == "failed"
    assert failed["error"]["message"] == "the server refused password ***"
    for document in (done, failed):
        text = json.dumps(document)
        assert PASSWORD not in text
        assert base64.b64encode(PASSWORD.encode()).decode() not in text
    # A plain field is no secret: the host is not masked.
    assert connections["plain"].secret_values() == [PASSWORD]
