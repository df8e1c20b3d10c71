"""A user creates a PostgreSQL connection to the local server on the Connections page: it is
listed, its password is write-only (masked on the page and in the API's answers, kept when the
connection is edited), a test of it answers ok, and a query node picks it in its side panel."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.canvas import open_node
from tests.e2e.conftest import Flomation

SCREENSHOTS = Path("/tmp/flomation-e2e")
NAME = "e2e_local_pg"


async def _create_postgres_connection(page: Page, flomation_up: Flomation, password: str) -> None:
    await page.goto(f"{flomation_up.base_url}/")
    await page.get_by_test_id("nav-connections").click()
    await page.get_by_test_id("new-connection").click()
    dialog = page.get_by_test_id("connection-dialog")
    await dialog.get_by_test_id("connection-name").fill(NAME)
    await dialog.get_by_test_id("connection-type").select_option("postgres")
    await dialog.locator("#connection_host").fill("127.0.0.1")
    await expect(dialog.locator("#connection_port")).to_have_value("5432")
    await dialog.locator("#connection_database").fill("postgres")
    await dialog.locator("#connection_user").fill("postgres")
    secret = dialog.get_by_test_id("secret-field-password")
    await expect(secret).to_have_attribute("type", "password")
    await secret.fill(password)
    await dialog.locator("#connection_ssl").select_option("disable")
    await dialog.get_by_test_id("connection-save").click()
    await expect(page.get_by_test_id("connection-saved")).to_contain_text(NAME)


async def _has_test_call(flomation_up: Flomation) -> bool:
    document = await flomation_up.get("/openapi.json")
    return "/api/v1/connections/{name}/test" in document.get("paths", {})


@pytest.fixture
async def local_pg(page: Page, flomation_up: Flomation) -> str:
    """The connection, created through the page; its password."""
    types = {item["type"] for item in await flomation_up.get("/connection-types")}
    assert "postgres" in types, f"the API has no postgres connection type: {sorted(types)}"
    await flomation_up.api.delete(f"/connections/{NAME}")
    password = f"e2e-pw-{secrets.token_hex(8)}"
    await _create_postgres_connection(page, flomation_up, password)
    return password


async def test_a_postgres_connection_is_created_listed_and_its_password_stays_write_only(
    page: Page, flomation_up: Flomation, local_pg: str
) -> None:
    row = page.get_by_test_id(f"connection-row-{NAME}")
    await expect(row).to_be_visible()
    await expect(row.get_by_test_id("connection-row-type")).to_contain_text("PostgreSQL")
    await expect(page.get_by_test_id(f"connection-status-{NAME}")).to_have_attribute(
        "data-status", "ok"
    )
    assert local_pg not in await page.content()
    stored = await flomation_up.get(f"/connections/{NAME}")
    assert stored["values"]["password"] == "***"
    assert stored["values"]["host"] == "127.0.0.1"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "connections-list.png"), full_page=True)

    # Editing shows the password as set, never its value, and keeps it when left empty.
    await page.get_by_test_id(f"edit-connection-{NAME}").click()
    dialog = page.get_by_test_id("connection-dialog")
    secret = dialog.get_by_test_id("secret-field-password")
    await expect(secret).to_have_value("")
    await expect(secret).to_have_attribute("data-set", "true")
    await page.screenshot(path=str(SCREENSHOTS / "connections-edit.png"), full_page=True)
    await dialog.locator("#connection_database").fill("template1")
    await dialog.get_by_test_id("connection-save").click()
    await expect(page.get_by_test_id("connection-dialog")).to_be_hidden()
    assert local_pg not in await page.content()
    stored = await flomation_up.get(f"/connections/{NAME}")
    assert stored["values"]["database"] == "template1"
    assert stored["values"]["password"] == "***"


async def test_a_postgres_connection_tests_ok_against_the_local_server(
    page: Page, flomation_up: Flomation, local_pg: str
) -> None:
    if not await _has_test_call(flomation_up):
        pytest.skip("this API has no POST /connections/{name}/test yet")
    await page.get_by_test_id(f"test-connection-{NAME}").click()
    answer = page.get_by_test_id(f"connection-test-{NAME}")
    await expect(answer).to_have_attribute("data-ok", "true", timeout=20_000)
    await expect(answer).to_contain_text("ok")
    await page.screenshot(path=str(SCREENSHOTS / "connections-tested.png"), full_page=True)


async def test_a_query_node_picks_its_connection_among_those_of_its_type(
    page: Page, flomation_up: Flomation, local_pg: str
) -> None:
    definition = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "rows",
                "type": "postgres.query",
                # A connection that does not exist yet: a warning at save, not an error.
                "config": {"connection": "not_made_yet", "sql": "SELECT 1 AS one"},
            },
        ],
        "edges": [{"from": "start", "to": "rows"}],
    }
    flow = await flomation_up.create_flow(flomation_up.unique("Connection picker"), definition)
    await page.goto(f"{flomation_up.base_url}/#/flows/{flow['id']}")
    # The palette groups integration nodes by their service.
    await expect(page.get_by_test_id("palette-group-postgres")).to_contain_text("PostgreSQL")
    panel = await open_node(page, "rows")
    picker = panel.get_by_test_id("connection-picker")
    await expect(picker).to_have_value("not_made_yet")
    await expect(picker.locator(f"option[value='{NAME}']")).to_have_count(1)
    await picker.select_option(NAME)
    await expect(picker).to_have_value(NAME)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "connections-picker.png"))

    # "New connection" from the panel: only the node's types, and the new one is picked.
    inline = "e2e_inline_pg"
    await flomation_up.api.delete(f"/connections/{inline}")
    await panel.get_by_test_id("connection-picker-new").click()
    dialog = page.get_by_test_id("connection-dialog")
    await expect(dialog.get_by_test_id("connection-type").locator("option")).to_have_count(1)
    await dialog.get_by_test_id("connection-name").fill(inline)
    await dialog.locator("#connection_host").fill("127.0.0.1")
    await dialog.locator("#connection_database").fill("postgres")
    await dialog.locator("#connection_user").fill("postgres")
    await dialog.locator("#connection_ssl").select_option("disable")
    await page.screenshot(path=str(SCREENSHOTS / "connections-inline.png"))
    await dialog.get_by_test_id("connection-save").click()
    await expect(dialog).to_be_hidden()
    await expect(picker).to_have_value(inline)
    assert (await flomation_up.get(f"/connections/{inline}"))["type"] == "postgres"
