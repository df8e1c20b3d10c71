"""Subflows on a runner: the child is a real execution, queued through the API and run by any
runner that qualifies; the parent waits for its end without holding a slot."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from flomation.backoff import Backoff
from flomation.engine.nodes.base import SubflowError, SubflowParent
from flomation.protocol import ExecutionStatus, SubflowRequest, SubflowStarted, SubflowState
from flomation.runner.client import ApiClient, ApiRefused, ApiUnavailable
from flomation.runner.slots import Slots
from flomation.signing import SignatureInvalid

log = logging.getLogger("flomation.runner.subflows")
T = TypeVar("T")


class SlotHold:
    """The slot one execution holds. Given back while every one of its subflow nodes waits
    (so a runner with one slot can run the child itself), taken again before it goes on."""

    def __init__(self, slots: Slots) -> None:
        self._slots = slots
        self.held = True
        self._waiting = 0

    def release(self) -> None:
        if self.held:
            self.held = False
            self._slots.give_back(1)

    def start_waiting(self) -> None:
        self._waiting += 1
        if self._waiting == 1:
            self.release()

    def abandon_wait(self) -> None:
        """A wait that ends by cancellation: the execution is ending, it takes no slot again."""
        self._waiting -= 1

    async def stop_waiting(self) -> None:
        self._waiting -= 1
        if self._waiting == 0 and not self.held:
            await self._slots.acquire()
            self.held = True


class ApiSubflowLauncher:
    """The engine's `SubflowLauncher` for one execution attempt, through the API."""

    def __init__(
        self,
        client: ApiClient,
        hold: SlotHold,
        *,
        attempt: int,
        poll_s: float,
        backoff: Callable[[], Backoff],
    ) -> None:
        self._client = client
        self._hold = hold
        self._attempt = attempt
        self._poll_s = poll_s
        self._backoff = backoff

    async def run(self, flow_id: str, input: Any, parent: SubflowParent) -> Any:
        body = SubflowRequest(
            parent_execution_id=parent.execution.execution_id,
            parent_attempt=self._attempt,
            node_id=parent.node_id,
            flow_id=flow_id,
            input=input,
            # The same key on every retry of this request: a lost answer starts no second child.
            request_key=uuid.uuid4().hex,
        )
        started = await self._retrying(
            lambda: self._client.ask("POST", "/subflows", SubflowStarted, body)
        )
        child_id = started.execution_id
        self._hold.start_waiting()
        try:
            while True:
                state = await self._retrying(
                    lambda: self._client.ask(
                        "GET",
                        f"/subflows/{child_id}",
                        SubflowState,
                        params={"wait_s": f"{self._poll_s:g}"},
                        timeout_s=self._poll_s + 30,
                    )
                )
                if state.ended:
                    break
        except BaseException:
            self._hold.abandon_wait()
            raise
        await self._hold.stop_waiting()
        if state.status != ExecutionStatus.SUCCEEDED:
            message = (state.error or {}).get("message")
            raise SubflowError(
                f"subflow {flow_id} (execution {child_id}) ended {state.status}"
                + (f": {message}" if message else "")
            )
        return state.output

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """Retries while the API is unreachable; the node's own timeout bounds the whole."""
        backoff = self._backoff()
        while True:
            try:
                return await call()
            except ApiRefused as exc:
                raise SubflowError(f"the API refused the subflow: {exc}") from exc
            except (ApiUnavailable, SignatureInvalid) as exc:
                delay = backoff.next_delay_s()
                log.warning("subflow call failed (%s); retrying in %.2f s", exc, delay)
                await asyncio.sleep(delay)
