"""A webhook trigger made on the triggers page, fired with the exact curl command the page shows."""

from __future__ import annotations

import copy
import json
import os
import secrets
import subprocess

from playwright.async_api import Page, expect

from tests.e2e.canvas import IF_ELSE
from tests.e2e.conftest import Flomation


async def test_a_webhook_fired_with_the_shown_curl_command_starts_an_execution_shown_in_the_editor(
    page: Page, flomation_up: Flomation
) -> None:
    # A webhook's input is the request: the JSON body is under `body`.
    definition = copy.deepcopy(IF_ELSE)
    definition["nodes"][1]["config"]["expression"] = "{{ input.body.n > 10 }}"
    flow = await flomation_up.create_flow(flomation_up.unique("Webhook target"), definition)
    token = secrets.token_urlsafe(16)
    response = await flomation_up.api.put("/secrets/E2E_HOOK_TOKEN", json={"value": token})
    assert response.status_code == 200, response.text

    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    await page.get_by_test_id("triggers-link").click()
    await page.get_by_test_id("trigger-new").click()
    form = page.get_by_test_id("trigger-form")
    await form.get_by_test_id("trigger-type").select_option("webhook")
    await form.get_by_test_id("trigger-path").fill("e2e/orders")
    await form.get_by_test_id("trigger-token").fill("E2E_HOOK_TOKEN")
    await expect(form.get_by_test_id("trigger-form-curl")).to_contain_text("/hooks/e2e/orders")
    await form.get_by_test_id("trigger-submit").click()

    row = page.locator("[data-testid^=trigger-row-]")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-type", "webhook")
    await expect(row).to_have_attribute("data-enabled", "true")
    trigger_id = (await row.get_attribute("data-testid") or "").removeprefix("trigger-row-")
    command = await page.get_by_test_id(f"trigger-curl-{trigger_id}").inner_text()
    assert command.startswith("BODY=")
    assert f"{flomation_up.base_url}/hooks/e2e/orders" in command

    # The body says n=30, so the flow answers big: the page's command sends what it shows.
    command = command.replace('{"hello": "world"}', '{"n": 30}')
    fired = subprocess.run(
        ["bash", "-c", command],
        env={**os.environ, "TOKEN": token},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    execution_id = json.loads(fired.stdout)["execution_id"]

    # Without the token the same command is refused: the page did not show a public hook.
    refused = subprocess.run(
        ["bash", "-c", command.replace("-sS", "-sS -o /dev/null -w '%{http_code}'")],
        env={**os.environ, "TOKEN": "wrong"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert refused.stdout == "401"

    await page.get_by_test_id("nav-executions").click()
    execution_row = page.get_by_test_id(f"execution-row-{execution_id}")
    await expect(execution_row).to_contain_text("webhook")
    await execution_row.get_by_role("link").first.click()
    await expect(page.get_by_test_id("execution-page")).to_have_attribute(
        "data-execution-id", execution_id
    )
    await expect(page.get_by_test_id("execution-status")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    await expect(page.get_by_test_id("node-yes")).to_have_attribute("data-status", "succeeded")
    assert json.loads(await page.get_by_test_id("execution-output").inner_text()) == {"size": "big"}
    execution = await flomation_up.get(f"/executions/{execution_id}")
    assert (
        execution["trigger"] == {"type": "webhook", "id": trigger_id}
        or execution["trigger"]["id"] == trigger_id
    )
