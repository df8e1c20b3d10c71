"""What a user does on the canvas, with the mouse and keyboard: drop nodes from the palette,
connect ports, fill the side panel."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Locator, Page, expect

# The spec's if/else example (docs/flow-format.md), as the API stores it.
IF_ELSE: dict[str, Any] = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "big", "type": "condition", "config": {"expression": "{{ input.n > 10 }}"}},
        {"id": "yes", "type": "set", "config": {"values": {"size": "big"}}},
        {"id": "no", "type": "set", "config": {"values": {"size": "small"}}},
        {"id": "join", "type": "merge"},
        {
            "id": "out",
            "type": "return",
            "config": {"value": {"size": "{{ (nodes.yes.output or nodes.no.output).size }}"}},
        },
    ],
    "edges": [
        {"from": "start", "to": "big"},
        {"from": "big", "to": "yes", "port": "true"},
        {"from": "big", "to": "no", "port": "false"},
        {"from": "yes", "to": "join"},
        {"from": "no", "to": "join"},
        {"from": "join", "to": "out"},
    ],
}


async def center(locator: Locator) -> tuple[float, float]:
    box = await locator.bounding_box()
    assert box is not None, f"{locator} is not on screen"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


async def pan(page: Page, dx: float, dy: float) -> None:
    """Drags the empty canvas (its top-left corner area) by dx, dy pixels."""
    box = await page.get_by_test_id("canvas").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + 40
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + dx, y + dy, steps=5)
    await page.mouse.up()


async def drop_node(page: Page, node_type: str, x: float, y: float) -> None:
    """Drags a palette item onto the canvas at (x, y) relative to the canvas' top-left corner."""
    await page.get_by_test_id(f"palette-item-{node_type}").drag_to(
        page.get_by_test_id("canvas"), target_position={"x": x, "y": y}
    )


async def connect(page: Page, source_handle: str, target_handle: str) -> None:
    """Drags with the mouse from one handle to another, as a user draws an edge."""
    x1, y1 = await center(page.get_by_test_id(source_handle))
    await page.mouse.move(x1, y1)
    await page.mouse.down()
    x2, y2 = await center(page.get_by_test_id(target_handle))
    await page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, steps=4)
    await page.mouse.move(x2, y2, steps=4)
    await page.mouse.up()


async def open_node(page: Page, node_id: str) -> Locator:
    panel = page.get_by_test_id("node-side-panel")
    id_input = panel.get_by_test_id("node-id-input")
    # A click that lands while React Flow re-renders the nodes after an edit (a rename just
    # before, on a loaded machine) can select nothing; a user would click again, so do we.
    for _ in range(2):
        await page.get_by_test_id(f"node-{node_id}").click()
        try:
            await expect(id_input).to_have_value(node_id, timeout=3000)
        except AssertionError:
            continue
        return panel
    await page.get_by_test_id(f"node-{node_id}").click()
    await expect(id_input).to_have_value(node_id)
    return panel


async def rename_node(page: Page, node_id: str, new_id: str) -> None:
    panel = await open_node(page, node_id)
    await panel.get_by_test_id("node-id-input").fill(new_id)
    await panel.get_by_test_id("node-id-input").press("Enter")
    await expect(page.get_by_test_id(f"node-{new_id}")).to_be_visible()


async def type_code(page: Page, test_id: str, text: str) -> None:
    """Replaces the text of a CodeMirror field, as pasting it would (no bracket auto-closing)."""
    editor = page.get_by_test_id(test_id)
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(text)
    await expect(editor).to_have_text(text.replace("\n", ""))


async def save(page: Page, message: str, expect_revision: int | None = None) -> None:
    """Saves the working copy with a revision message."""
    await page.get_by_test_id("save-button").click()
    await page.get_by_test_id("save-message").fill(message)
    await page.get_by_test_id("save-confirm").click()
    if expect_revision is not None:
        await expect(page.get_by_test_id("flow-revision")).to_have_attribute(
            "data-revision", str(expect_revision)
        )
        await expect(page.get_by_test_id("dirty-indicator")).to_have_count(0)
