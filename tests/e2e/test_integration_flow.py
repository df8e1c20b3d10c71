"""Issue 19's "done when", tried as a new user would in the editor: a PostgreSQL connection to
the local server made on the Connections page and tested ok, an SMTP connection to a server on
loopback (aiosmtpd, no TLS, no login), then "query -> for each row -> email" built on the
canvas with the mouse and the side panel, saved and run from the editor. The run view shows
the query's rows, and the SMTP server received one mail per row."""

from __future__ import annotations

import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from playwright.async_api import Page, expect

from tests.databases import PG_ADMIN_DSN
from tests.e2e.canvas import connect, drop_node, open_node, pan, rename_node, save, type_code
from tests.e2e.conftest import Flomation, _free_port, eventually

SCREENSHOTS = Path("/tmp/flomation-e2e")
PEOPLE = [
    ("Ada Lovelace", "ada@example.test"),
    ("Grace Hopper", "grace@example.test"),
    ("Katherine Johnson", "katherine@example.test"),
]
SENDER = "flows@example.test"


@dataclass
class Mailbox:
    """What the SMTP server received: (sender, recipients, message) per mail."""

    port: int
    mails: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[tuple[str, list[str], EmailMessage]]:
        with self.lock:
            return list(self.mails)


class _Recorder:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content.replace(b"\r\n", b"\n")
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.mailbox.lock:
            self.mailbox.mails.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def mail_server() -> Iterator[Mailbox]:
    """An SMTP server on loopback without TLS or login, as a relay on a trusted network."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(port=_free_port())
    controller = Controller(_Recorder(mailbox), hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
async def people_table() -> AsyncIterator[str]:
    """A scratch table of three people in the local server's `postgres` database."""
    table = f"e2e_people_{secrets.token_hex(6)}"
    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    try:
        await connection.execute(f"CREATE TABLE {table} (name text NOT NULL, email text NOT NULL)")
        await connection.executemany(f"INSERT INTO {table} (name, email) VALUES ($1, $2)", PEOPLE)
        yield table
    finally:
        await connection.execute(f"DROP TABLE IF EXISTS {table}")
        await connection.close()


async def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"integration-flow-{name}.png"), full_page=True)


async def _new_connection(page: Page, name: str, type_name: str, values: dict[str, str]) -> None:
    """Creates a connection on the Connections page; `values` by field id, selects included."""
    await page.get_by_test_id("new-connection").click()
    dialog = page.get_by_test_id("connection-dialog")
    await dialog.get_by_test_id("connection-name").fill(name)
    await dialog.get_by_test_id("connection-type").select_option(type_name)
    for field_name, value in values.items():
        control = dialog.locator(f"#connection_{field_name}")
        if await control.evaluate("el => el.tagName") == "SELECT":
            await control.select_option(value)
        else:
            await control.fill(value)
    await dialog.get_by_test_id("connection-save").click()
    await expect(page.get_by_test_id("connection-saved")).to_contain_text(name)
    await expect(dialog).to_be_hidden()


async def _test_connection(page: Page, name: str) -> None:
    await page.get_by_test_id(f"test-connection-{name}").click()
    answer = page.get_by_test_id(f"connection-test-{name}")
    await expect(answer).to_have_attribute("data-ok", "true", timeout=20_000)


async def test_query_for_each_row_email_is_built_in_the_editor_run_and_mails_arrive(
    page: Page, flomation_up: Flomation, people_table: str, mail_server: Mailbox
) -> None:
    token = secrets.token_hex(3)
    pg_name, smtp_name = f"e2e_people_db_{token}", f"e2e_mail_{token}"

    # 1. The connections, as a new user makes them: the Connections page, then a test of each.
    await page.goto(f"{flomation_up.base_url}/")
    await page.get_by_test_id("nav-connections").click()
    await _new_connection(
        page,
        pg_name,
        "postgres",
        {"host": "127.0.0.1", "database": "postgres", "user": "postgres", "ssl": "disable"},
    )
    await _test_connection(page, pg_name)
    await expect(page.get_by_test_id(f"connection-test-{pg_name}")).to_contain_text("ok")
    await _new_connection(
        page,
        smtp_name,
        "smtp",
        {
            "host": "127.0.0.1",
            "port": str(mail_server.port),
            "security": "none",
            "from": SENDER,
        },
    )
    await _test_connection(page, smtp_name)
    await _shot(page, "connections")
    assert not mail_server.received(), "a connection test sends nothing"

    # 2. A new flow, and three nodes dropped to the right of its start node.
    await page.get_by_test_id("nav-flows").click()
    await page.get_by_test_id("create-flow").click()
    await page.get_by_test_id("create-flow-name").fill(flomation_up.unique("Mail each person"))
    await page.get_by_test_id("create-flow-submit").click()
    await expect(page.get_by_test_id("node-start")).to_be_visible()
    flow_id = await page.get_by_test_id("flow-editor").get_attribute("data-flow-id")
    for _ in range(2):
        await page.locator(".react-flow__controls-zoomout").click()
    await pan(page, -300, 0)
    canvas = await page.get_by_test_id("canvas").bounding_box()
    start = await page.get_by_test_id("node-start").bounding_box()
    assert canvas
    assert start
    x0, y0 = start["x"] - canvas["x"], start["y"] - canvas["y"]
    search = page.get_by_test_id("palette-search")
    for column, (needle, node_type) in enumerate(
        [("postgres", "postgres.query"), ("for each", "foreach"), ("email", "email.send")], 1
    ):
        # Found the way a user finds a node among many: by searching the palette.
        await search.fill(needle)
        await drop_node(page, node_type, x0 + column * 200, y0)
        await page.keyboard.press("Escape")
    await search.fill("")
    for node_id in ["postgres_query", "foreach", "email_send"]:
        await expect(page.get_by_test_id(f"node-{node_id}")).to_be_visible()

    # Edges drawn with the mouse; the foreach's body is what its `each` port leads to.
    await connect(page, "handle-start-success", "handle-postgres_query-in")
    await connect(page, "handle-postgres_query-success", "handle-foreach-in")
    await connect(page, "handle-foreach-each", "handle-email_send-in")
    await expect(page.locator(".react-flow__edge")).to_have_count(3)
    # Ids that read well in templates (`nodes.people.output.rows`).
    await rename_node(page, "postgres_query", "people")
    await rename_node(page, "foreach", "each_person")
    await rename_node(page, "email_send", "mail")

    # 3. Each node's config in its side panel; connections picked among those of its type.
    panel = await open_node(page, "people")
    await panel.get_by_test_id("connection-picker").select_option(pg_name)
    await type_code(page, "field-sql", f"SELECT name, email FROM {people_table} ORDER BY name")
    await open_node(page, "each_person")
    await type_code(page, "field-items", '"{{ nodes.people.output.rows }}"')
    panel = await open_node(page, "mail")
    await panel.get_by_test_id("connection-picker").select_option(smtp_name)
    await panel.locator("#root_to").fill("{{ item.email }}")
    await panel.locator("#root_subject").fill("Hello {{ item.name }}")
    await panel.locator("#root_text").fill("Row {{ loop.index }} of {{ loop.length }}.")
    await _shot(page, "built")
    await save(page, "query, for each row, email", expect_revision=2)

    saved = await flomation_up.get(f"/flows/{flow_id}")
    nodes = {node["id"]: node for node in saved["definition"]["nodes"]}
    assert nodes["people"]["type"] == "postgres.query"
    assert nodes["people"]["config"]["connection"] == pg_name
    assert nodes["each_person"]["config"]["items"] == "{{ nodes.people.output.rows }}"
    assert nodes["mail"]["config"]["connection"] == smtp_name
    assert {
        (e["from"], e["to"], e.get("port", "success")) for e in saved["definition"]["edges"]
    } == {
        ("start", "people", "success"),
        ("people", "each_person", "success"),
        ("each_person", "mail", "each"),
    }

    # 4. Run it from the editor and watch it succeed.
    await page.get_by_test_id("run-button").click()
    await expect(page.get_by_test_id("run-dialog")).to_be_visible()
    await page.get_by_test_id("run-submit").click()
    await expect(page.get_by_test_id("execution-page")).to_be_visible()
    await expect(page.get_by_test_id("execution-status")).to_have_attribute(
        "data-status", "succeeded", timeout=30_000
    )
    for node_id in ["start", "people", "each_person", "mail"]:
        await expect(page.get_by_test_id(f"node-{node_id}")).to_have_attribute(
            "data-status", "succeeded"
        )

    # The query step's output in the run view holds the table's rows.
    await page.get_by_test_id("node-people").click()
    steps = page.get_by_test_id("step-panel")
    await expect(steps).to_be_visible()
    for name, email in PEOPLE:
        await expect(steps).to_contain_text(name)
        await expect(steps).to_contain_text(email)
    await expect(steps).to_contain_text('"row_count": 3')
    await _shot(page, "run")
    # The email node ran once per row, each iteration its own step.
    await steps.get_by_role("button", name="Close steps").click()
    await page.get_by_test_id("node-mail").click()
    await expect(steps).to_be_visible()
    await expect(steps.locator('[data-testid^="step-mail-"]')).to_have_count(len(PEOPLE))
    await expect(steps).to_contain_text("message_id")
    await _shot(page, "run-mail")

    # 5. One mail per row, to the row's address, with its name in the subject.
    mails = await eventually(lambda: _at_least(mail_server, len(PEOPLE)), timeout_s=10)
    assert sorted((rcpt, str(msg["Subject"])) for _, rcpt, msg in mails) == sorted(
        ([email], f"Hello {name}") for name, email in PEOPLE
    )
    assert all(sender == SENDER for sender, _, _ in mails)
    assert sorted(str(msg.get_content()).strip() for _, _, msg in mails) == [
        f"Row {index} of 3." for index in range(3)
    ]


async def _at_least(mailbox: Mailbox, count: int) -> list[tuple[str, list[str], EmailMessage]]:
    received = mailbox.received()
    return received if len(received) >= count else []
