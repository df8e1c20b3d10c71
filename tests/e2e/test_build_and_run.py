"""Building the spec's if/else flow with the mouse, saving it, and running it."""

from __future__ import annotations

import json
from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.canvas import (
    IF_ELSE,
    connect,
    drop_node,
    open_node,
    pan,
    rename_node,
    save,
    type_code,
)
from tests.e2e.conftest import Flomation


def _graph(
    definition: dict[str, Any],
) -> tuple[dict[str, tuple[str, Any]], set[tuple[str, str, str]]]:
    nodes = {node["id"]: (node["type"], node.get("config")) for node in definition["nodes"]}
    edges = {
        (edge["from"], edge["to"], edge.get("port", "success")) for edge in definition["edges"]
    }
    return nodes, edges


async def test_the_if_else_flow_is_built_by_dragging_and_connecting_and_saved(
    page: Page, flomation_up: Flomation
) -> None:
    name = flomation_up.unique("If else built by hand")
    await page.goto(f"{flomation_up.base_url}/")
    await page.get_by_test_id("create-flow").click()
    await page.get_by_test_id("create-flow-name").fill(name)
    await page.get_by_test_id("create-flow-submit").click()
    await expect(page.get_by_test_id("node-start")).to_be_visible()
    flow_id = await page.get_by_test_id("flow-editor").get_attribute("data-flow-id")

    # Room for six nodes: zoom out, then move the start node's side of the canvas to the left.
    for _ in range(3):
        await page.locator(".react-flow__controls-zoomout").click()
    await pan(page, -400, 0)
    canvas = await page.get_by_test_id("canvas").bounding_box()
    start = await page.get_by_test_id("node-start").bounding_box()
    assert canvas
    assert start
    x0, y0 = start["x"] - canvas["x"], start["y"] - canvas["y"]
    for node_type, column, row in [
        ("condition", 1, 0),
        ("set", 2, -1),
        ("set", 2, 1),
        ("merge", 3, 0),
        ("return", 4, 0),
    ]:
        await drop_node(page, node_type, x0 + column * 180, y0 + row * 90)
        await page.keyboard.press("Escape")
    for node_id in ["condition", "set", "set_2", "merge", "return"]:
        await expect(page.get_by_test_id(f"node-{node_id}")).to_be_visible()

    await connect(page, "handle-start-success", "handle-condition-in")
    await connect(page, "handle-condition-true", "handle-set-in")
    await connect(page, "handle-condition-false", "handle-set_2-in")
    await connect(page, "handle-set-success", "handle-merge-in")
    await connect(page, "handle-set_2-success", "handle-merge-in")
    await connect(page, "handle-merge-success", "handle-return-in")
    await expect(page.locator(".react-flow__edge")).to_have_count(6)

    # Ids as in the spec (templates read them), then each node's config in the side panel.
    for old, new in [
        ("condition", "big"),
        ("set", "yes"),
        ("set_2", "no"),
        ("merge", "join"),
        ("return", "out"),
    ]:
        await rename_node(page, old, new)
    await open_node(page, "big")
    await type_code(page, "field-expression", "{{ input.n > 10 }}")
    await open_node(page, "yes")
    await type_code(page, "field-values", '{"size": "big"}')
    await open_node(page, "no")
    await type_code(page, "field-values", '{"size": "small"}')
    await open_node(page, "out")
    await type_code(
        page, "field-value", '{"size": "{{ (nodes.yes.output or nodes.no.output).size }}"}'
    )

    await expect(page.get_by_test_id("dirty-indicator")).to_be_visible()
    await save(page, "If/else by hand", expect_revision=2)

    saved = await flomation_up.get(f"/flows/{flow_id}")
    assert _graph(saved["definition"]) == _graph(IF_ELSE)
    # Every dropped node kept where it was put: positions are stored, not recomputed.
    assert all("position" in node for node in saved["definition"]["nodes"] if node["id"] != "start")


async def test_a_run_turns_the_nodes_that_ran_green_and_shows_the_output(
    page: Page, flomation_up: Flomation
) -> None:
    flow = await flomation_up.create_flow(flomation_up.unique("If else run"), IF_ELSE)
    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    await expect(page.get_by_test_id("node-out")).to_be_visible()
    await page.get_by_test_id("run-button").click()
    await expect(page.get_by_test_id("run-dialog")).to_be_visible()
    await type_code(page, "run-input", '{"n": 30}')
    await page.get_by_test_id("run-submit").click()

    await expect(page.get_by_test_id("execution-page")).to_be_visible()
    await expect(page.get_by_test_id("execution-status")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    for node_id in ["start", "big", "yes", "join", "out"]:
        await expect(page.get_by_test_id(f"node-{node_id}")).to_have_attribute(
            "data-status", "succeeded"
        )
    # The branch not taken did not run: it is not green.
    assert await page.get_by_test_id("node-no").get_attribute("data-status") != "succeeded"
    output = await page.get_by_test_id("execution-output").inner_text()
    assert json.loads(output) == {"size": "big"}
    node_color = await page.get_by_test_id("node-yes").evaluate(
        "el => getComputedStyle(el).borderColor"
    )
    assert node_color != await page.get_by_test_id("node-no").evaluate(
        "el => getComputedStyle(el).borderColor"
    )


async def test_a_dragged_node_keeps_its_new_place_when_its_panel_is_edited_next(
    page: Page, flomation_up: Flomation
) -> None:
    flow = await flomation_up.create_flow(flomation_up.unique("Drag then edit"), IF_ELSE)
    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    node = page.get_by_test_id("node-yes")
    box = await node.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 10)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + 70, steps=6)
    await page.mouse.up()
    await expect(page.get_by_test_id("node-side-panel")).to_be_visible()
    await type_code(page, "field-values", '{"size": "moved"}')
    await save(page, "moved and edited", expect_revision=2)

    saved = await flomation_up.get(f"/flows/{flow['id']}")
    yes = next(n for n in saved["definition"]["nodes"] if n["id"] == "yes")
    assert yes["config"] == {"values": {"size": "moved"}}
    assert "position" in yes  # the move was not undone by the panel's edit
    moved = await node.bounding_box()
    assert moved is not None
    assert moved["y"] > box["y"] + 40
