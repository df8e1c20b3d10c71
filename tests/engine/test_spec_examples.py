"""Every example of docs/flow-format.md, with its stated input, status and output."""

from __future__ import annotations

import pytest

from tests.engine.flows import ECHO, ERROR_PORT, FOREACH, IF_ELSE, RETRY_LOOP, run


async def test_echo_doubles_the_input_number() -> None:
    result = await run(ECHO, {"n": 21})
    assert result.status == "succeeded"
    assert result.output == {"m": 42, "tag": "ok"}


@pytest.mark.parametrize(("n", "size"), [(3, "small"), (30, "big")])
async def test_if_else_runs_one_branch_and_the_join_once(n: int, size: str) -> None:
    result = await run(IF_ELSE, {"n": n})
    assert result.status == "succeeded"
    assert result.output == {"size": size}
    assert result.ran("join") == 1
    skipped = "yes" if size == "small" else "no"
    assert [s["status"] for s in result.steps(skipped)] == ["skipped"]


async def test_error_port_recovers_after_two_attempts() -> None:
    result = await run(ERROR_PORT, {})
    assert result.status == "succeeded"
    assert result.output == {"recovered": True, "attempts": 2}
    (call,) = result.steps("call")
    assert call["status"] == "failed"
    assert call["attempts"] == 2
    assert call["error"]["type"] == "connection"


async def test_foreach_squares_in_item_order() -> None:
    result = await run(FOREACH, {"xs": [1, 2, 3]})
    assert result.status == "succeeded"
    assert result.output == {"squares": [1, 4, 9]}
    assert [s["iteration"] for s in result.steps("sq")] == [0, 1, 2]


async def test_retry_loop_with_a_back_edge_counts_to_three() -> None:
    result = await run(RETRY_LOOP, {})
    assert result.status == "succeeded"
    assert result.output == {"tries": 3}
    assert [s["visit"] for s in result.steps("count")] == [1, 2, 3]
