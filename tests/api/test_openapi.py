"""The OpenAPI document describes what the API sends: the event stream's messages and the
problem+json body of every error answer, so the editor's generated types cover them."""

from __future__ import annotations

from typing import Any

from flomation.api.problems import PROBLEM_JSON, Problem
from tests.factories import Actor
from tests.live import LiveServer

STREAM_EVENTS = {
    "step": "StepEvent",
    "log": "LogEvent",
    "execution": "ExecutionChangedEvent",
    "end": "ExecutionEndEvent",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


async def _document(api: LiveServer) -> dict[str, Any]:
    async with api.client() as client:
        response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


async def test_the_event_stream_names_its_messages(api: LiveServer) -> None:
    document = await _document(api)
    schemas = document["components"]["schemas"]
    route = document["paths"]["/api/v1/executions/{execution_id}/events"]["get"]
    content = route["responses"]["200"]["content"]
    assert content == {"text/event-stream": {"schema": _ref("ExecutionStreamEvent")}}
    union = schemas["ExecutionStreamEvent"]
    assert union["oneOf"] == [_ref(name) for name in STREAM_EVENTS.values()]
    assert union["discriminator"] == {
        "propertyName": "event",
        "mapping": {kind: _ref(name)["$ref"] for kind, name in STREAM_EVENTS.items()},
    }
    for kind, name in STREAM_EVENTS.items():
        properties = schemas[name]["properties"]
        assert properties["event"]["const"] == kind
        assert set(schemas[name]["required"]) == {"seq", "event", "data"}
    assert schemas["StepEvent"]["properties"]["data"] == _ref("StepView")
    assert schemas["LogEvent"]["properties"]["data"] == _ref("LogView")
    assert schemas["ExecutionEndEvent"]["properties"]["data"] == _ref("ExecutionSummary")
    assert schemas["StepView"]["properties"]["status"] == _ref("StepStatus")


async def test_every_route_documents_its_errors_as_problem_json(api: LiveServer) -> None:
    document = await _document(api)
    assert {"Problem", "ProblemError"} <= set(document["components"]["schemas"])
    # FastAPI's own error shape, which the API never sends, is not described.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert operations
    for path, method, operation in operations:
        for code in ("4XX", "5XX"):
            content = operation["responses"][code]["content"]
            assert content == {PROBLEM_JSON: {"schema": _ref("Problem")}}, (path, method)


async def test_an_error_answer_is_the_documented_problem(api: LiveServer, owner: Actor) -> None:
    async with api.client(owner.headers) as client:
        missing = await client.get("/api/v1/executions/nope")
        invalid = await client.get("/api/v1/executions", params={"status": "sleeping"})
    for response in (missing, invalid):
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        body = response.json()
        assert Problem.model_validate(body).model_dump(exclude_unset=True) == body
    assert invalid.status_code == 422
    assert invalid.json()["errors"]
