"""Issue 24's forms and small ones in Chromium: the side panel never hides the selected node,
the New flow dialog takes a name with spaces, palette search with Enter adds a node after the
selected one, readable forms, and layouts that work at 1024 and 390 px."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Locator, Page, expect

from tests.e2e.canvas import open_node, save, type_code
from tests.e2e.conftest import Flomation, eventually

# Screenshots of the forms, to look at (not compared): where FLOMATION_E2E_SHOTS says.
SHOTS = Path(os.environ.get("FLOMATION_E2E_SHOTS", "/tmp/flomation-e2e/forms"))


def _wide_flow() -> dict[str, Any]:
    """Start on the left and an HTTP node far to the right: after fitting the view, the
    HTTP node sits at the canvas' right edge, where the side panel opens."""
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start", "position": {"x": 0, "y": 0}},
            {
                "id": "call",
                "type": "http",
                "config": {"url": "https://example.test/api"},
                "position": {"x": 260, "y": 0},
            },
            {
                "id": "far",
                "type": "log",
                "config": {"message": "far away"},
                "position": {"x": 1500, "y": 300},
            },
            {
                "id": "next",
                "type": "log",
                "config": {"message": "next to it"},
                "position": {"x": 1500, "y": 420},
            },
        ],
        "edges": [
            {"from": "start", "to": "call"},
            {"from": "call", "to": "far"},
            {"from": "far", "to": "next"},
        ],
    }


async def _inside(node: Locator, area: Locator) -> bool:
    box, bounds = await node.bounding_box(), await area.bounding_box()
    assert box is not None
    assert bounds is not None
    return (
        box["x"] >= bounds["x"]
        and box["y"] >= bounds["y"]
        and box["x"] + box["width"] <= bounds["x"] + bounds["width"]
        and box["y"] + box["height"] <= bounds["y"] + bounds["height"]
    )


async def _stays_in_view(node: Locator, area: Locator) -> None:
    """The node is (or, once the canvas has panned, comes) fully inside the canvas."""
    await eventually(lambda: _inside(node, area), timeout_s=5)


async def _open_flow(page: Page, flomation_up: Flomation, name: str, definition: Any) -> str:
    flow = await flomation_up.create_flow(flomation_up.unique(name), definition)
    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    await expect(page.get_by_test_id("node-start")).to_be_visible()
    return str(flow["id"])


async def _no_sideways_scroll(page: Page) -> None:
    sizes = await page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth, document.body.scrollWidth]"
    )
    if sizes[0] <= sizes[1] and sizes[2] <= sizes[1]:
        return
    # Name what sticks out, to say what to fix.
    wide = await page.evaluate(
        """() => {
            // Inside a box that scrolls or clips, sticking out is that box's business.
            // (an absolutely placed element escapes boxes that are not its containing block).
            const clipped = e => {
                if (['absolute', 'fixed'].includes(getComputedStyle(e).position)) return false;
                for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
                    if (getComputedStyle(p).overflowX !== 'visible') return true;
                return false;
            };
            return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !clipped(e))
                .slice(0, 8)
                .map(e => `${e.tagName}.${e.className}[${e.getAttribute('data-testid')}]`
                    + ` right=${Math.round(e.getBoundingClientRect().right)}`);
        }"""
    )
    raise AssertionError(f"{page.url} scrolls sideways: {sizes}; sticking out: {wide}")


async def test_the_side_panel_never_hides_the_selected_node(
    page: Page, flomation_up: Flomation
) -> None:
    await _open_flow(page, flomation_up, "Panel keeps the node", _wide_flow())
    canvas = page.get_by_test_id("canvas")
    far = page.get_by_test_id("node-far")
    # Before the panel opens the whole flow is in view, the far node at the right edge.
    assert await _inside(far, canvas)

    # Selecting it opens the panel, which narrows the canvas: the canvas pans to keep it.
    panel = await open_node(page, "far")
    await expect(panel).to_be_visible()
    await _stays_in_view(far, canvas)

    # Clicking another node shows that node, never the one before.
    await page.get_by_test_id("node-next").click()
    await expect(panel.get_by_test_id("node-id-input")).to_have_value("next")
    await _stays_in_view(page.get_by_test_id("node-next"), canvas)
    await page.get_by_test_id("node-far").click()
    await expect(panel.get_by_test_id("node-id-input")).to_have_value("far")
    await _stays_in_view(far, canvas)

    # The panel is wider after dragging its handle left, still keeps the node in view, and
    # has that width the next time the editor opens.
    before = await panel.bounding_box()
    handle = await page.get_by_test_id("panel-resizer").bounding_box()
    assert before is not None
    assert handle is not None
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + 200
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x - 150, y, steps=5)
    await page.mouse.up()
    after = await panel.bounding_box()
    assert after is not None
    assert after["width"] >= before["width"] + 140
    await _stays_in_view(far, canvas)
    await page.reload()
    panel = await open_node(page, "far")
    reopened = await panel.bounding_box()
    assert reopened is not None
    assert abs(reopened["width"] - after["width"]) <= 2
    await _stays_in_view(far, canvas)


async def test_the_new_flow_dialog_takes_a_name_with_spaces(
    page: Page, flomation_up: Flomation
) -> None:
    name = flomation_up.unique("Name with spaces in it")
    await page.goto(f"{flomation_up.base_url}/#/flows")
    await page.get_by_test_id("create-flow").click()
    dialog = page.get_by_test_id("create-flow-dialog")
    await expect(dialog).to_be_visible()
    # The name field has the focus (not Close), so typing goes into it, spaces included.
    await expect(page.get_by_test_id("create-flow-name")).to_be_focused()
    await page.keyboard.type(name)
    await expect(dialog).to_be_visible()
    await expect(page.get_by_test_id("create-flow-name")).to_have_value(name)
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("flow-name")).to_have_text(name)


async def test_palette_search_if_and_enter_adds_a_condition_after_the_selected_node(
    page: Page, flomation_up: Flomation
) -> None:
    flow_id = await _open_flow(page, flomation_up, "Palette if", _wide_flow())
    await open_node(page, "call")
    search = page.get_by_test_id("palette-search")
    await search.click()
    await search.fill("if")
    await expect(page.get_by_test_id("palette-search-first")).to_contain_text("Condition")
    await search.press("Enter")
    await expect(page.get_by_test_id("node-condition")).to_be_visible()
    # The new node is selected, its panel open, and (saved) it follows the selected node.
    await expect(page.get_by_test_id("node-id-input")).to_have_value("condition")
    await type_code(page, "field-expression", "{{ nodes.call.output.status == 200 }}")
    await save(page, "condition after call", expect_revision=2)
    stored = await flomation_up.get(f"/flows/{flow_id}")
    edges = {(e["from"], e["to"], e.get("port", "success")) for e in stored["definition"]["edges"]}
    assert ("call", "condition", "success") in edges

    # "webhook" finds no node but says where triggers are.
    await search.fill("webhook")
    await expect(page.get_by_test_id("palette-trigger-hint")).to_contain_text("Triggers")


async def test_forms_read_as_words_with_labelled_choices_and_rows(
    page: Page, flomation_up: Flomation
) -> None:
    definition = _wide_flow()
    definition["nodes"].append(
        {
            "id": "mail",
            "type": "email.send",
            "config": {"connection": "smtp", "to": ["a@example.test", "b@example.test"]},
            "position": {"x": 520, "y": 160},
        }
    )
    definition["edges"].append({"from": "call", "to": "mail"})
    await _open_flow(page, flomation_up, "Readable forms", definition)
    SHOTS.mkdir(parents=True, exist_ok=True)

    panel = await open_node(page, "call")
    form = panel.get_by_test_id("node-config-form")
    for title in ["Method", "URL", "Headers", "Query parameters", "Expected status", "Timeout (s)"]:
        await expect(form).to_contain_text(title)
    await expect(form).not_to_contain_text("Option 1")
    await expect(form).not_to_contain_text("expect_status")
    docs_link = panel.get_by_test_id("node-docs-link")
    await expect(docs_link).to_have_attribute("href", "/docs/integrations/http.md")
    # The API serves the page the link opens, on the editor's own origin.
    async with httpx.AsyncClient(base_url=flomation_up.base_url) as client:
        docs_page = await client.get("/docs/integrations/http.md")
    assert docs_page.status_code == 200
    assert "connection" in docs_page.text
    await panel.get_by_label("Headers: name 1").fill("Accept")
    await panel.get_by_label("Headers: value 1").fill("application/json")
    await panel.get_by_test_id("field-expect_status-choice").select_option(label="Any status")
    await page.screenshot(path=str(SHOTS / "http-panel.png"))
    await panel.get_by_test_id("field-expect_status-choice").scroll_into_view_if_needed()
    await page.screenshot(path=str(SHOTS / "http-panel-status.png"))

    panel = await open_node(page, "mail")
    form = panel.get_by_test_id("node-config-form")
    await expect(form).not_to_contain_text("Option 1")
    await expect(panel.get_by_test_id("field-to")).to_have_value("a@example.test, b@example.test")
    await page.screenshot(path=str(SHOTS / "email-panel.png"))


async def test_the_layout_works_at_1024_and_at_390_px(page: Page, flomation_up: Flomation) -> None:
    flow_id = await _open_flow(page, flomation_up, "Narrow layout", _wide_flow())

    await page.set_viewport_size({"width": 1024, "height": 768})
    await page.goto(f"{flomation_up.base_url}/#/flows")
    await expect(page.get_by_test_id("nav-flows")).to_be_visible()
    # One line of navigation: every link on the same row, the bar its usual height.
    tops = await page.locator(".topbar nav a").evaluate_all(
        "links => links.map(a => a.getBoundingClientRect().top)"
    )
    assert len(set(tops)) == 1, f"the nav wraps: {tops}"
    assert await page.locator(".topbar").evaluate("e => e.offsetHeight") <= 48
    for link in await page.locator(".topbar nav a").all():
        assert await link.is_visible()
    await _no_sideways_scroll(page)
    await page.goto(f"{flomation_up.base_url}/#/flows/{flow_id}")
    await expect(page.get_by_test_id("node-start")).to_be_visible()
    await _no_sideways_scroll(page)
    await open_node(page, "call")
    await page.screenshot(path=str(SHOTS / "editor-1024.png"))

    await page.set_viewport_size({"width": 390, "height": 844})
    for path in ["/#/flows", "/#/executions", "/#/connections", f"/#/flows/{flow_id}"]:
        await page.goto(f"{flomation_up.base_url}{path}")
        await expect(page.get_by_test_id("nav-flows")).to_be_visible()
        await page.wait_for_load_state("networkidle")
        await _no_sideways_scroll(page)
    # The editor stays usable: a node opens its panel over the canvas, which closes again.
    panel = await open_node(page, "call")
    await _no_sideways_scroll(page)
    await page.screenshot(path=str(SHOTS / "editor-390.png"))
    await panel.get_by_label("Close node panel").click()
    await expect(panel).to_have_count(0)


async def test_the_history_diff_shows_each_changed_value_before_and_after(
    page: Page, flomation_up: Flomation
) -> None:
    first = _wide_flow()
    flow = await flomation_up.create_flow(flomation_up.unique("Diff values"), first)
    second = _wide_flow()
    second["nodes"][1]["config"] = {
        "url": "https://example.test/v2",
        "headers": {"Accept": "application/json"},
    }
    response = await flomation_up.api.put(
        f"/flows/{flow['id']}",
        json={"definition": second, "base_revision": 1, "message": "v2"},
    )
    assert response.status_code == 200, response.text

    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    await page.get_by_test_id("history-toggle").click()
    await page.get_by_test_id("diff-from-1").check()
    await page.get_by_test_id("diff-to-2").check()
    await page.get_by_test_id("diff-compare").click()
    await page.get_by_test_id("diff-view").get_by_test_id("node-call").click()
    url = page.get_by_test_id("diff-field-config.url")
    await expect(url.locator(".diff-before")).to_have_text("https://example.test/api")
    await expect(url.locator(".diff-after")).to_have_text("https://example.test/v2")
    accept = page.get_by_test_id("diff-field-config.headers")
    await expect(accept.locator(".diff-before")).to_have_text("(not set)")
    await expect(accept.locator(".diff-after")).to_contain_text('"Accept": "application/json"')


async def test_a_whole_execution_row_opens_the_execution(
    page: Page, flomation_up: Flomation
) -> None:
    flow = await flomation_up.create_flow(
        flomation_up.unique("Row opens"),
        {
            "version": 1,
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "out", "type": "return", "config": {"value": 1}},
            ],
            "edges": [{"from": "start", "to": "out"}],
        },
    )
    started = await flomation_up.api.post(f"/flows/{flow['id']}/executions", json={"input": {}})
    assert started.status_code in (200, 201, 202), started.text
    execution_id = started.json()["id"]
    await page.goto(f"{flomation_up.base_url}/#/executions?flow_id={flow['id']}")
    row = page.get_by_test_id(f"execution-row-{execution_id}")
    # A cell that is not a link: the revision number.
    await row.locator("td").nth(2).click()
    await expect(page.get_by_test_id("execution-page")).to_have_attribute(
        "data-execution-id", execution_id
    )
