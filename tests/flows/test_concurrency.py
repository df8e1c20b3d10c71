"""Simultaneous saves on the same base revision: exactly one wins, on both databases, even
when they arrive through two API processes' worth of engines and connection pools."""

from __future__ import annotations

import asyncio
from collections import Counter

from flomation.api.app import create_app
from flomation.config import Settings
from flomation.db.session import Database
from tests.factories import Actor, echo_definition
from tests.flows.conftest import FLOWS, create_flow
from tests.live import LiveServer, serve

SAVES_PER_SERVER = 4


async def test_concurrent_saves_on_one_base_let_exactly_one_win(
    api: LiveServer, owner: Actor, settings: Settings, database_url: str
) -> None:
    # A second API on its own engine and pool, as a second process would have.
    second_database = Database(database_url, pool_size=5)
    try:
        async with (
            serve(create_app(settings, database=second_database)) as second_api,
            api.client(owner.headers) as first,
            second_api.client(owner.headers) as second,
        ):
            flow = await create_flow(first)
            url = f"{FLOWS}/{flow['id']}"
            # Authenticating records the token's first use (a row update, held until commit);
            # do it now so that the saves below contend on the flow alone.
            assert (await second.get(url)).status_code == 200

            def body(n: int) -> dict[str, object]:
                definition = echo_definition()
                definition["nodes"][1]["config"]["values"]["tag"] = f"writer {n}"
                return {"definition": definition, "base_revision": 1, "message": f"writer {n}"}

            responses = await asyncio.gather(
                *(
                    client.put(url, json=body(n * 2 + i))
                    for n in range(SAVES_PER_SERVER)
                    for i, client in enumerate((first, second))
                )
            )
            statuses = Counter(response.status_code for response in responses)
            assert statuses == {200: 1, 409: 2 * SAVES_PER_SERVER - 1}, [r.text for r in responses]
            winner = next(r.json() for r in responses if r.status_code == 200)
            assert winner["revision"] == 2
            for response in responses:
                if response.status_code == 409:
                    assert response.json()["current_revision"] == 2

            shown = (await first.get(url)).json()
            assert shown["revision"] == 2
            assert shown["definition"] == winner["definition"]
            revisions = (await second.get(f"{url}/revisions")).json()["items"]
            assert [item["revision"] for item in revisions] == [2, 1]
            assert (
                revisions[0]["message"]
                == winner["definition"]["nodes"][1]["config"]["values"]["tag"]
            )
    finally:
        await second_database.dispose()


async def test_saves_that_follow_each_other_all_succeed(api: LiveServer, owner: Actor) -> None:
    async with api.client(owner.headers) as client:
        flow = await create_flow(client)
        url = f"{FLOWS}/{flow['id']}"
        for base in range(1, 6):
            response = await client.put(
                url, json={"definition": echo_definition(timeout_s=base), "base_revision": base}
            )
            assert response.status_code == 200, response.text
        assert (await client.get(url)).json()["revision"] == 6
