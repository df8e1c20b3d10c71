"""Claim, heartbeat and registration bodies: round trips, and refusals that say where."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flomation.protocol import (
    ClaimedExecution,
    ClaimRequest,
    ClaimResponse,
    HeldExecution,
    RegisterRequest,
    describe,
)


def claimed(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "e1", "flow_id": "f1", "revision": 2, "attempt": 1,
        "definition": {"version": 1, "nodes": [], "edges": []}, "input": {"n": 1},
        "trigger": {"type": "manual"}, "lease_expires_at": "2026-01-01T00:00:30Z",
        "deadline_at": None, "deadline_in_s": None, "timeout_s": None, "depth": 0,
        "parent_execution_id": None, "from_node": None, "prior_outputs": None,
        "recovery_error": None, "variables": {}, "secrets": {"key": "ref"},
    } | overrides  # fmt: skip


def test_a_claim_answer_round_trips() -> None:
    answer = ClaimResponse(
        executions=[ClaimedExecution.model_validate(claimed())], cancel=["e0"], lost=[]
    )
    assert ClaimResponse.model_validate_json(answer.model_dump_json()) == answer


def test_a_claimed_execution_missing_a_field_is_refused_saying_which() -> None:
    value = claimed()
    del value["definition"]
    with pytest.raises(ValidationError) as refused:
        ClaimedExecution.model_validate(value)
    assert describe(refused.value) == "definition: Field required"


def test_a_claim_request_is_strict() -> None:
    body = ClaimRequest(free_slots=2, wait_s=1.5, held=[HeldExecution(execution_id="e", attempt=1)])
    assert ClaimRequest.model_validate_json(body.model_dump_json()) == body
    with pytest.raises(ValidationError) as refused:
        ClaimRequest.model_validate({"free_slots": -1, "slots": 2})
    why = describe(refused.value)
    assert "free_slots: Input should be greater than or equal to 0" in why
    assert "slots: Extra inputs are not permitted" in why


def test_registration_labels_are_checked() -> None:
    with pytest.raises(ValidationError) as refused:
        RegisterRequest(
            name="r", labels={"bad key": "x"}, max_concurrent_executors=1,
            public_key="k" * 44, version="1",
        )  # fmt: skip
    assert describe(refused.value).startswith("labels: Value error, label key 'bad key'")
