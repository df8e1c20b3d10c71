"""A form trigger's public page in Chromium: a visitor without an account fills it in and
submits, sees the thank-you page, and the execution runs with the fields as its input."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import Flomation, eventually, new_page
from tests.triggers.factories import open_definition

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Your name"},
        "age": {"type": "integer", "title": "Age"},
        "subscribe": {"type": "boolean", "title": "Send me news"},
        "plan": {"enum": ["free", "pro"], "title": "Plan"},
    },
    "required": ["name", "plan"],
}


async def test_a_visitor_fills_in_the_form_and_the_execution_gets_the_fields(
    browser: Browser, page: Page, flomation_up: Flomation
) -> None:
    flow = await flomation_up.create_flow(flomation_up.unique("Form target"), open_definition())
    created = await flomation_up.api.post(
        f"/flows/{flow['id']}/triggers",
        json={
            "type": "form",
            "config": {"path": "e2e/contact", "title": "Contact us", "schema": SCHEMA},
        },
    )
    assert created.status_code == 201, created.text
    trigger_id = created.json()["id"]

    # No account: a fresh browser context without the editor's session.
    context, visitor, errors = await new_page(browser, None)
    try:
        await visitor.goto(f"{flomation_up.base_url}/forms/e2e/contact")
        await expect(visitor.get_by_role("heading", name="Contact us")).to_be_visible()
        # Submitting without the required name shows the page again with the field's error.
        await visitor.get_by_label("Plan").select_option("pro")
        await visitor.get_by_role("button", name="Submit").click()
        await expect(visitor.locator("#name-error")).to_contain_text("Your name is required")
        await visitor.get_by_label("Your name").fill("Ada")
        await visitor.get_by_label("Age").fill("36")
        await visitor.get_by_label("Send me news").check()
        await visitor.get_by_label("Plan").select_option("pro")
        await visitor.get_by_role("button", name="Submit").click()
        await expect(visitor.get_by_role("status")).to_contain_text("Thank you")
    finally:
        await context.close()
    assert not errors, errors

    async def succeeded() -> dict[str, Any] | None:
        listing = await flomation_up.get(f"/executions?flow_id={flow['id']}")
        for item in listing["items"]:
            execution = await flomation_up.get(f"/executions/{item['id']}")
            if execution["status"] == "succeeded":
                return dict(execution)
        return None

    execution = await eventually(succeeded, timeout_s=30)
    expected = {"name": "Ada", "age": 36, "subscribe": True, "plan": "pro"}
    assert execution["input"] == expected
    assert execution["output"] == expected
    assert execution["trigger"]["id"] == trigger_id
    trigger = await flomation_up.get(f"/triggers/{trigger_id}")
    assert trigger["state"]["events_total"] == 1
    assert trigger["state"]["rejected_total"] == 1

    # The editor lists the execution as started by the form; its page shows the fields.
    await page.goto(f"{flomation_up.base_url}/")
    await page.get_by_test_id("nav-executions").click()
    execution_row = page.get_by_test_id(f"execution-row-{execution['id']}")
    await expect(execution_row).to_contain_text("form")
    await execution_row.get_by_role("link").first.click()
    await expect(page.get_by_test_id("execution-status")).to_have_attribute(
        "data-status", "succeeded"
    )
    await expect(page.get_by_test_id("execution-page")).to_contain_text("Ada")
