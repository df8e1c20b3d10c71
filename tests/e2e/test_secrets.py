"""A secret's value goes in once and never comes back: not on the page, not in any response
the page receives, not in an execution that uses it."""

from __future__ import annotations

import asyncio
import json
import secrets

from playwright.async_api import Page, Response, expect

from tests.e2e.canvas import type_code
from tests.e2e.conftest import Flomation


class ResponseBodies:
    """Every response the page receives from our server, read in full."""

    def __init__(self, page: Page, base_url: str) -> None:
        self._reads: list[asyncio.Task[tuple[str, str]]] = []
        self._base_url = base_url
        page.on("response", self._on_response)

    def _on_response(self, response: Response) -> None:
        if response.url.startswith(self._base_url):
            self._reads.append(asyncio.ensure_future(self._read(response)))

    @staticmethod
    async def _read(response: Response) -> tuple[str, str]:
        try:
            body = (await asyncio.wait_for(response.body(), timeout=20)).decode("utf-8", "replace")
        except Exception as error:  # a body the browser dropped (redirect, aborted stream)
            body = f"<unread: {error}>"
        return response.url, body

    async def all(self) -> list[tuple[str, str]]:
        return list(await asyncio.gather(*self._reads))


async def test_a_secret_value_is_never_shown_or_sent_back_once_set(
    page: Page, flomation_up: Flomation
) -> None:
    name = "E2E_API_KEY"
    value = f"e2e-secret-{secrets.token_hex(12)}"
    bodies = ResponseBodies(page, flomation_up.base_url)

    await page.goto(f"{flomation_up.base_url}/")
    await page.get_by_test_id("nav-secrets").click()
    await page.get_by_test_id("secret-name").fill(name)
    await page.get_by_test_id("secret-value").fill(value)
    await page.get_by_test_id("secret-submit").click()
    await expect(page.get_by_test_id("secret-saved")).to_contain_text(name)
    await expect(page.get_by_test_id(f"secret-row-{name}")).to_be_visible()
    await expect(page.get_by_test_id("secret-value")).to_have_value("")
    assert value not in await page.content()
    await page.reload()
    await expect(page.get_by_test_id(f"secret-row-{name}")).to_be_visible()
    assert value not in await page.content()

    # A flow that returns the secret: the run works, and what comes back is masked.
    definition = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "out",
                "type": "return",
                "config": {
                    "value": {
                        "key": f"{{{{ secrets.{name} }}}}",
                        "length": f"{{{{ secrets.{name} | length }}}}",
                    }
                },
            },
        ],
        "edges": [{"from": "start", "to": "out"}],
    }
    flow = await flomation_up.create_flow(flomation_up.unique("Secret user"), definition)
    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    await page.get_by_test_id("run-button").click()
    await type_code(page, "run-input", "{}")
    await page.get_by_test_id("run-submit").click()
    await expect(page.get_by_test_id("execution-status")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    output = json.loads(await page.get_by_test_id("execution-output").inner_text())
    assert output["length"] == len(value)  # the runner did read the secret...
    assert output["key"] == "***"  # ...and the stored output masks it
    assert value not in await page.content()

    received = await bodies.all()
    assert any("/api/v1/secrets" in url for url, _ in received)
    unread = [
        url for url, body in received if body.startswith("<unread") and not url.endswith("/events")
    ]
    assert not unread, unread
    # The page may stop its event stream before the browser hands the body over: the stream
    # is read here too, whole, as the page would get it.
    execution_id = await page.get_by_test_id("execution-page").get_attribute("data-execution-id")
    async with flomation_up.api.stream("GET", f"/executions/{execution_id}/events") as stream:
        events = (await stream.aread()).decode()
    assert "event: end" in events
    received.append(("events read by the test", events))
    leaks = [url for url, body in received if value in body]
    assert not leaks, f"the secret's value came back in {leaks}"
