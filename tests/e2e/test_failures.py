"""What the editor does when the API says no, or says nothing: problems shown where they are,
and edits kept."""

from __future__ import annotations

from playwright.async_api import Page, Route, expect

from tests.e2e.canvas import IF_ELSE, open_node, save, type_code
from tests.e2e.conftest import Flomation


async def test_a_definition_the_api_rejects_shows_its_problems_on_the_node_and_field(
    page: Page, flomation_up: Flomation
) -> None:
    flow = await flomation_up.create_flow(flomation_up.unique("Rejected definition"), IF_ELSE)
    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    await open_node(page, "big")
    await type_code(page, "field-expression", "{{ input.n > }}")
    await save(page, "broken template")

    await expect(page.get_by_test_id("validation-problems")).to_contain_text(
        "template does not parse"
    )
    await expect(page.get_by_test_id("node-problems-big")).to_contain_text("1 problem")
    await expect(page.get_by_test_id("node-problems-yes")).to_have_count(0)
    panel = page.get_by_test_id("node-side-panel")
    await expect(panel.get_by_test_id("node-panel-problems")).to_contain_text("expression")
    # ...and under the field itself.
    await expect(panel.get_by_test_id("node-config-form").get_by_role("alert")).to_contain_text(
        "template does not parse"
    )
    # Nothing was saved and nothing was lost.
    await expect(page.get_by_test_id("flow-revision")).to_have_attribute("data-revision", "1")
    await expect(page.get_by_test_id("dirty-indicator")).to_be_visible()
    await expect(page.get_by_test_id("field-expression")).to_have_text("{{ input.n > }}")

    await type_code(page, "field-expression", "{{ input.n > 20 }}")
    await save(page, "fixed template", expect_revision=2)
    await expect(page.get_by_test_id("node-problems-big")).to_have_count(0)
    await expect(page.get_by_test_id("validation-problems")).to_have_count(0)
    saved = await flomation_up.get(f"/flows/{flow['id']}")
    assert saved["definition"]["nodes"][1]["config"] == {"expression": "{{ input.n > 20 }}"}


async def test_an_unreachable_api_shows_a_banner_and_keeps_the_edits_until_it_is_back(
    page: Page, flomation_up: Flomation
) -> None:
    flow = await flomation_up.create_flow(flomation_up.unique("Unreachable API"), IF_ELSE)
    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    await open_node(page, "yes")
    await type_code(page, "field-values", '{"size": "offline edit"}')

    async def unreachable(route: Route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/api/v1/**", unreachable)
    await page.route("**/healthz", unreachable)
    await save(page, "while offline")
    await expect(page.get_by_test_id("api-unreachable")).to_be_visible()
    await expect(page.get_by_test_id("dirty-indicator")).to_be_visible()
    await expect(page.get_by_test_id("flow-revision")).to_have_attribute("data-revision", "1")
    await expect(page.get_by_test_id("field-values")).to_contain_text("offline edit")

    await page.unroute("**/api/v1/**", unreachable)
    await page.unroute("**/healthz", unreachable)
    await expect(page.get_by_test_id("api-unreachable")).to_have_count(0, timeout=15_000)
    await expect(page.get_by_test_id("field-values")).to_contain_text("offline edit")
    await save(page, "back online", expect_revision=2)
    saved = await flomation_up.get(f"/flows/{flow['id']}")
    assert saved["definition"]["nodes"][2]["config"] == {"values": {"size": "offline edit"}}
