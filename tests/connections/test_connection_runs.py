"""End to end on a runner (the runner's own code, in this process so that the test's node type
is known): the claim brings the connection over the signed protocol, the node uses it, and the
stored step, log and output show "***" where its secret value was. A runner-local connection
of the same name wins over the API's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from flomation.backoff import Backoff
from flomation.db.session import Database
from flomation.engine.nodes.base import EngineServices
from flomation.protocol import ClaimedConnection, ClaimedExecution
from flomation.runner.client import ApiClient
from flomation.runner.execution import ExecutionJob, JobContext, PlanCache
from flomation.runner.local_connections import LocalConnections
from flomation.runner.local_secrets import LocalSecrets
from flomation.runner.metrics import RunnerMetrics
from flomation.runner.reporter import Reporter
from flomation.runner.slots import Slots
from flomation.runner.subflows import ApiSubflowLauncher, SlotHold
from tests.connections.fakes import echo_flow
from tests.connections.test_connections_api import PASSWORD, body
from tests.factories import Actor, make_flow
from tests.live import LiveServer
from tests.runners.helpers import make_runner_token, runner_client

LOCAL_PASSWORD = "on-premise-password-3"


class Harness:
    """The runner's client, reporter and job machinery, as `flomation runner` assembles them."""

    def __init__(self, client: ApiClient, local: LocalSecrets) -> None:
        self.client = client
        self.reporter = Reporter(client, flush_interval_s=0.02, batch_max=100, backoff=Backoff())
        self.local = local

    async def claim(self) -> list[dict[str, Any]]:
        answer = await self.client.call("POST", "/claim", {"free_slots": 1, "wait_s": 1})
        executions: list[dict[str, Any]] = answer["executions"]
        return executions

    def start(self, payload: dict[str, Any]) -> asyncio.Task[None]:
        claimed = ClaimedExecution.model_validate(payload)
        slots = Slots(1)
        slots.reserve_all()
        hold = SlotHold(slots)

        def services(claimed: ClaimedExecution, hold: SlotHold) -> EngineServices:
            launcher = ApiSubflowLauncher(
                self.client, hold, attempt=claimed.attempt, poll_s=1, backoff=Backoff
            )
            return EngineServices(subflow_launcher=launcher)

        context = JobContext(
            reporter=self.reporter,
            local_secrets=self.local,
            metrics=RunnerMetrics(),
            plans=PlanCache(),
            make_services=services,
            api=self.client,
        )
        job = ExecutionJob(claimed, hold, context)
        job.task = asyncio.create_task(job.run())
        return job.task


@asynccontextmanager
async def runner(
    api: LiveServer, database: Database, owner: Actor, local: LocalSecrets
) -> AsyncIterator[Harness]:
    client = runner_client(api.base_url, await make_runner_token(database, owner.organization_id))
    await client.register(labels={}, max_concurrent=1)
    harness = Harness(client, local)
    flusher = asyncio.create_task(harness.reporter.run())
    try:
        yield harness
    finally:
        harness.reporter.stop()
        await asyncio.wait_for(flusher, 10)
        await client.aclose()


async def request(api: LiveServer, owner: Actor, flow_id: str) -> str:
    async with api.client(owner.headers) as user:
        requested = await user.post(f"/api/v1/flows/{flow_id}/executions", json={"input": {}})
        assert requested.status_code in (200, 201, 202), requested.text
        execution_id: str = requested.json()["id"]
        return execution_id


async def stored(api: LiveServer, owner: Actor, execution_id: str) -> tuple[dict[str, Any], str]:
    """The execution as the API shows it, and the raw answer."""
    async with api.client(owner.headers) as user:
        done = await user.get(f"/api/v1/executions/{execution_id}")
    assert done.status_code == 200
    return done.json(), done.text


async def run_once(
    api: LiveServer, database: Database, owner: Actor, local: LocalSecrets
) -> dict[str, Any]:
    """Request the echo flow through the API, run it as a runner would, answer the stored
    execution as the API shows it."""
    flow_id = await make_flow(database, owner.organization_id, definition=echo_flow("warehouse"))
    execution_id = await request(api, owner, flow_id)
    async with runner(api, database, owner, local) as harness:
        [payload] = await harness.claim()
        await asyncio.wait_for(harness.start(payload), 20)
    execution, raw = await stored(api, owner, execution_id)
    return {"claim": payload, "execution": execution, "raw": raw}


async def test_a_node_uses_the_connection_and_its_secret_is_masked_everywhere(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    async with api.client(owner.headers) as user:
        put = await user.put("/api/v1/connections/warehouse", json=body(password=PASSWORD))
        assert put.status_code == 200
    ran = await run_once(api, database, owner, LocalSecrets({}))
    # The claim carried the value (signed, to the runner only)...
    assert ran["claim"]["connections"]["warehouse"]["values"]["password"] == PASSWORD
    execution = ran["execution"]
    assert execution["status"] == "succeeded", execution
    [echo] = [step for step in execution["steps"] if step["node_id"] == "echo"]
    # ...the node saw it, and every stored trace of it reads "***".
    assert echo["output"] == {
        "name": "warehouse",
        "type": "conntest",
        "host": "db.internal",
        "password": "***",
    }
    assert execution["output"]["password"] == "***"
    assert any("using password ***" in log["message"] for log in execution["logs"])
    assert PASSWORD not in ran["raw"]


async def test_a_runner_local_connection_wins_over_the_apis(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    async with api.client(owner.headers) as user:
        put = await user.put("/api/v1/connections/warehouse", json=body(password=PASSWORD))
        assert put.status_code == 200
    local = LocalSecrets(
        {},
        LocalConnections(
            {
                "warehouse": ClaimedConnection(
                    type="conntest",
                    values={"host": "onprem.lan", "port": 5432, "password": LOCAL_PASSWORD},
                )
            }
        ),
    )
    ran = await run_once(api, database, owner, local)
    execution = ran["execution"]
    assert execution["status"] == "succeeded", execution
    [echo] = [step for step in execution["steps"] if step["node_id"] == "echo"]
    assert echo["output"]["host"] == "onprem.lan"
    assert echo["output"]["password"] == "***"
    assert LOCAL_PASSWORD not in ran["raw"]
    assert PASSWORD not in ran["raw"]


async def test_a_subflow_gets_its_own_connections_through_its_own_claim(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    async with api.client(owner.headers) as user:
        put = await user.put("/api/v1/connections/warehouse", json=body(password=PASSWORD))
        assert put.status_code == 200
    child = await make_flow(database, owner.organization_id, definition=echo_flow("warehouse"))
    parent = await make_flow(
        database,
        owner.organization_id,
        definition={
            "version": 1,
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "call", "type": "subflow", "config": {"flow": child, "input": {}}},
                {"id": "out", "type": "return", "config": {"value": "{{ nodes.call.output }}"}},
            ],
            "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "out"}],
        },
    )
    execution_id = await request(api, owner, parent)
    async with runner(api, database, owner, LocalSecrets({})) as harness:
        [parent_claim] = await harness.claim()
        parent_task = harness.start(parent_claim)
        child_claims: list[dict[str, Any]] = []
        for _ in range(20):  # each claim waits up to 1 s for the child the parent queues
            child_claims = await harness.claim()
            if child_claims:
                break
        [child_claim] = child_claims
        await asyncio.wait_for(harness.start(child_claim), 20)
        await asyncio.wait_for(parent_task, 20)
    # The parent references no connection, so its claim carries none; the child's carries its own.
    assert parent_claim["connections"] == {}
    assert child_claim["flow_id"] == child
    assert child_claim["connections"]["warehouse"]["values"]["password"] == PASSWORD
    execution, raw = await stored(api, owner, execution_id)
    assert execution["status"] == "succeeded", execution
    assert execution["output"]["host"] == "db.internal"
    assert execution["output"]["password"] == "***"
    assert PASSWORD not in raw
