"""Two people editing one flow: the second save gets the conflict choice, and neither version
is lost whichever is chosen."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.canvas import IF_ELSE, open_node, save, type_code
from tests.e2e.conftest import Flomation


def _values(definition: dict[str, Any], node_id: str) -> Any:
    return next(node for node in definition["nodes"] if node["id"] == node_id)["config"]["values"]


async def _edit_values(page: Page, node_id: str, values: str) -> None:
    await open_node(page, node_id)
    await type_code(page, "field-values", values)
    await expect(page.get_by_test_id("dirty-indicator")).to_be_visible()


async def _open_flow(page: Page, flomation_up: Flomation, flow_id: str) -> None:
    await page.goto(f"{flomation_up.base_url}/#/flows/{flow_id}")
    await expect(page.get_by_test_id("node-yes")).to_be_visible()


async def test_reload_theirs_opens_their_revision_and_keeps_mine_to_bring_back(
    page: Page, second_page: Page, flomation_up: Flomation
) -> None:
    flow = await flomation_up.create_flow(flomation_up.unique("Conflict reload theirs"), IF_ELSE)
    await _open_flow(page, flomation_up, flow["id"])
    await _edit_values(page, "yes", '{"size": "mine"}')

    # Someone else, in another browser, saves first.
    await _open_flow(second_page, flomation_up, flow["id"])
    await _edit_values(second_page, "no", '{"size": "theirs"}')
    await save(second_page, "their edit", expect_revision=2)

    await save(page, "my edit")
    await expect(page.get_by_test_id("conflict-dialog")).to_be_visible()
    await page.get_by_test_id("conflict-reload-theirs").click()
    await expect(page.get_by_test_id("conflict-dialog")).to_have_count(0)
    await expect(page.get_by_test_id("flow-revision")).to_have_attribute("data-revision", "2")
    await expect(page.get_by_test_id("dirty-indicator")).to_have_count(0)
    await open_node(page, "no")
    await expect(page.get_by_test_id("field-values")).to_contain_text('"theirs"')

    # Mine was kept: the history panel brings it back on top of theirs.
    await page.get_by_test_id("history-toggle").click()
    await expect(page.get_by_test_id("stash-note")).to_be_visible()
    await page.get_by_test_id("stash-open").click()
    await expect(page.get_by_test_id("dirty-indicator")).to_be_visible()
    await open_node(page, "yes")
    await expect(page.get_by_test_id("field-values")).to_contain_text('"mine"')
    await save(page, "my edit again", expect_revision=3)

    theirs = await flomation_up.get(f"/flows/{flow['id']}/revisions/2")
    mine = await flomation_up.get(f"/flows/{flow['id']}/revisions/3")
    assert _values(theirs["definition"], "no") == {"size": "theirs"}
    assert _values(mine["definition"], "yes") == {"size": "mine"}


async def test_keep_mine_saves_on_top_and_their_revision_stays_in_the_history(
    page: Page, flomation_up: Flomation
) -> None:
    flow = await flomation_up.create_flow(flomation_up.unique("Conflict keep mine"), IF_ELSE)
    await _open_flow(page, flomation_up, flow["id"])
    await _edit_values(page, "yes", '{"size": "mine"}')

    # Another session saves through the API meanwhile.
    theirs_definition = {
        **IF_ELSE,
        "nodes": [
            *IF_ELSE["nodes"][:3],
            {"id": "no", "type": "set", "config": {"values": {"size": "theirs"}}},
            *IF_ELSE["nodes"][4:],
        ],
    }
    response = await flomation_up.api.put(
        f"/flows/{flow['id']}",
        json={"definition": theirs_definition, "base_revision": 1, "message": "their edit"},
    )
    assert response.status_code == 200, response.text

    await save(page, "my edit")
    await expect(page.get_by_test_id("conflict-dialog")).to_be_visible()
    await page.get_by_test_id("conflict-keep-mine").click()
    await expect(page.get_by_test_id("flow-revision")).to_have_attribute("data-revision", "3")
    await expect(page.get_by_test_id("dirty-indicator")).to_have_count(0)

    current = await flomation_up.get(f"/flows/{flow['id']}")
    theirs = await flomation_up.get(f"/flows/{flow['id']}/revisions/2")
    assert current["revision"] == 3
    assert _values(current["definition"], "yes") == {"size": "mine"}
    assert _values(theirs["definition"], "no") == {"size": "theirs"}
    revisions = await flomation_up.get(f"/flows/{flow['id']}/revisions")
    items = revisions["items"] if isinstance(revisions, dict) else revisions
    messages = [r["message"] for r in sorted(items, key=lambda r: r["revision"])]
    assert messages[1] == "their edit"
    assert messages[2] == "my edit (kept over revision 2)"
