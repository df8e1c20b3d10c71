"""The history panel: two revisions compared on the canvas, and an old one restored."""

from __future__ import annotations

import copy

from playwright.async_api import Page, expect

from tests.e2e.canvas import IF_ELSE
from tests.e2e.conftest import Flomation


async def test_the_diff_marks_added_and_changed_nodes_and_restore_brings_a_revision_back(
    page: Page, flomation_up: Flomation
) -> None:
    flow = await flomation_up.create_flow(flomation_up.unique("History diff"), IF_ELSE)
    second = copy.deepcopy(IF_ELSE)
    second["nodes"][2]["config"] = {"values": {"size": "huge"}}
    second["nodes"].append({"id": "note", "type": "log", "config": {"message": "sized"}})
    second["edges"].append({"from": "join", "to": "note"})
    response = await flomation_up.api.put(
        f"/flows/{flow['id']}",
        json={"definition": second, "base_revision": 1, "message": "huge, and a note"},
    )
    assert response.status_code == 200, response.text

    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    await expect(page.get_by_test_id("flow-revision")).to_have_attribute("data-revision", "2")
    await page.get_by_test_id("history-toggle").click()
    await expect(page.get_by_test_id("revision-2")).to_contain_text("huge, and a note")
    await page.get_by_test_id("diff-from-1").check()
    await page.get_by_test_id("diff-to-2").check()
    await page.get_by_test_id("diff-compare").click()

    diff = page.get_by_test_id("diff-view")
    await expect(diff).to_have_attribute("data-from", "1")
    await expect(diff).to_have_attribute("data-to", "2")
    await expect(diff.get_by_test_id("node-note")).to_have_attribute("data-diff", "added")
    await expect(diff.get_by_test_id("node-yes")).to_have_attribute("data-diff", "changed")
    await expect(diff.get_by_test_id("node-no")).to_have_attribute("data-diff", "unchanged")
    await expect(page.get_by_test_id("diff-summary")).to_contain_text("1 added")
    await expect(page.get_by_test_id("diff-summary")).to_contain_text("1 changed")
    await diff.get_by_test_id("node-yes").click()
    await expect(page.get_by_test_id("diff-node-detail")).to_contain_text("config")

    await page.get_by_test_id("diff-exit").click()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_test_id("revision-restore-1").click()
    await expect(page.get_by_test_id("flow-revision")).to_have_attribute("data-revision", "3")
    await expect(page.get_by_test_id("node-note")).to_have_count(0)
    restored = await flomation_up.get(f"/flows/{flow['id']}")
    assert restored["revision"] == 3
    assert restored["definition"]["nodes"] == IF_ELSE["nodes"]
    assert restored["definition"]["edges"] == IF_ELSE["edges"]
