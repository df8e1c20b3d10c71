"""End to end on a runner (the runner's own code, in this process so that the test's node type
is known): the claim brings the connection over the signed protocol, the node uses it, and the
stored step, log and output show "***" where its secret value was. A runner-local connection
of the same name wins over the API's."""

from __future__ import annotations

import asyncio
from typing import Any

from flomation.backoff import Backoff
from flomation.db.session import Database
from flomation.engine.nodes.base import EngineServices
from flomation.protocol import ClaimedConnection, ClaimedExecution
from flomation.runner.execution import ExecutionJob, JobContext, PlanCache
from flomation.runner.local_connections import LocalConnections
from flomation.runner.local_secrets import LocalSecrets
from flomation.runner.metrics import RunnerMetrics
from flomation.runner.reporter import Reporter
from flomation.runner.slots import Slots
from flomation.runner.subflows import SlotHold
from tests.connections.fakes import echo_flow
from tests.connections.test_connections_api import PASSWORD, body
from tests.factories import Actor, make_flow
from tests.live import LiveServer
from tests.runners.helpers import make_runner_token, runner_client

LOCAL_PASSWORD = "on-premise-password-3"


async def run_once(
    api: LiveServer, database: Database, owner: Actor, local: LocalSecrets
) -> dict[str, Any]:
    """Request the echo flow through the API, run it as a runner would, answer the stored
    execution as the API shows it."""
    flow_id = await make_flow(database, owner.organization_id, definition=echo_flow("warehouse"))
    async with api.client(owner.headers) as user:
        requested = await user.post(f"/api/v1/flows/{flow_id}/executions", json={"input": {}})
        assert requested.status_code in (200, 201, 202), requested.text
        execution_id = requested.json()["id"]
        client = runner_client(
            api.base_url, await make_runner_token(database, owner.organization_id)
        )
        await client.register(labels={}, max_concurrent=1)
        answer = await client.call("POST", "/claim", {"free_slots": 1, "wait_s": 0})
        [payload] = answer["executions"]
        claimed = ClaimedExecution.model_validate(payload)
        reporter = Reporter(client, flush_interval_s=0.02, batch_max=100, backoff=Backoff())
        flusher = asyncio.create_task(reporter.run())
        slots = Slots(1)
        slots.reserve_all()
        context = JobContext(
            reporter=reporter,
            local_secrets=local,
            metrics=RunnerMetrics(),
            plans=PlanCache(),
            make_services=lambda claimed, hold: EngineServices(),
        )
        job = ExecutionJob(claimed, SlotHold(slots), context)
        job.task = asyncio.create_task(job.run())
        await asyncio.wait_for(job.task, 20)
        reporter.stop()
        await asyncio.wait_for(flusher, 10)
        await client.aclose()
        done = await user.get(f"/api/v1/executions/{execution_id}")
        assert done.status_code == 200
        result: dict[str, Any] = {"claim": payload, "execution": done.json(), "raw": done.text}
        return result


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
