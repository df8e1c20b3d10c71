"""Captures the editor's main screens into docs/screenshots/*.png (1280x720).

Starts its own `flomation up` on SQLite in a temporary directory, fills it through the API
(flows, revisions, executions, triggers) and photographs each screen in Debian's Chromium:

    .venv/bin/python docs/screenshots/capture.py

Needs the built editor (`make editor`) and Chromium (`make chromium`).
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, async_playwright, expect

OUT = Path(__file__).resolve().parent
EMAIL = "admin@example.com"
PASSWORD = "screenshots-only-1"
VIEWPORT = {"width": 1280, "height": 720}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

IF_ELSE: dict[str, Any] = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start", "position": {"x": 0, "y": 120}},
        {
            "id": "big",
            "type": "condition",
            "name": "Is it big?",
            "config": {"expression": "{{ input.n > 10 }}"},
            "position": {"x": 280, "y": 120},
        },
        {
            "id": "yes",
            "type": "set",
            "config": {"values": {"size": "big"}},
            "position": {"x": 560, "y": 0},
        },
        {
            "id": "no",
            "type": "set",
            "config": {"values": {"size": "small"}},
            "position": {"x": 560, "y": 240},
        },
        {"id": "join", "type": "merge", "position": {"x": 840, "y": 120}},
        {
            "id": "out",
            "type": "return",
            "config": {"value": {"size": "{{ (nodes.yes.output or nodes.no.output).size }}"}},
            "position": {"x": 1120, "y": 120},
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

NIGHTLY: dict[str, Any] = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "fetch",
            "type": "http",
            "name": "Fetch orders",
            "config": {"url": "https://example.com/orders"},
        },
        {"id": "each", "type": "foreach", "config": {"items": "{{ nodes.fetch.output.body }}"}},
        {"id": "total", "type": "set", "config": {"values": {"amount": "{{ item.amount }}"}}},
        {"id": "out", "type": "return", "config": {"value": "{{ nodes.each.output.results }}"}},
    ],
    "edges": [
        {"from": "start", "to": "fetch"},
        {"from": "fetch", "to": "each"},
        {"from": "each", "to": "total", "port": "each"},
        {"from": "each", "to": "out", "port": "done"},
    ],
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_flomation(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOMATION_")}
    env.update(
        FLOMATION_DATA_DIR=str(workdir / "data"),
        FLOMATION_ADMIN_EMAIL=EMAIL,
        FLOMATION_ADMIN_PASSWORD=PASSWORD,
        FLOMATION_PORT=str(port),
        FLOMATION_LOG_LEVEL="WARNING",
    )
    log = (workdir / "up.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "flomation", "up"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"flomation up did not start:\n{(workdir / 'up.log').read_text()}")


async def wait_ended(api: httpx.AsyncClient, execution_id: str) -> dict[str, Any]:
    for _ in range(300):
        execution = (await api.get(f"/executions/{execution_id}")).raise_for_status().json()
        if execution["status"] not in ("queued", "running"):
            return dict(execution)
        await asyncio.sleep(0.1)
    raise RuntimeError(f"execution {execution_id} did not end")


async def seed(api: httpx.AsyncClient) -> dict[str, str]:
    """Flows, revisions, executions and triggers worth looking at."""
    if_else = (
        await api.post(
            "/flows",
            json={"name": "Order size", "description": "The spec's if/else", "definition": IF_ELSE},
        )
    ).json()
    second = copy.deepcopy(IF_ELSE)
    second["nodes"][2]["config"] = {"values": {"size": "big", "priority": "high"}}
    second["nodes"].append(
        {
            "id": "notify",
            "type": "log",
            "config": {"message": "sized {{ nodes.out }}"},
            "position": {"x": 1120, "y": 280},
        }
    )
    second["edges"].append({"from": "join", "to": "notify"})
    (
        await api.put(
            f"/flows/{if_else['id']}",
            json={
                "definition": second,
                "base_revision": 1,
                "message": "Priority for big orders; log each one",
            },
        )
    ).raise_for_status()
    third = copy.deepcopy(second)
    third["nodes"] = [n for n in third["nodes"] if n["id"] != "notify"]
    third["edges"] = [e for e in third["edges"] if e["to"] != "notify"]
    (
        await api.put(
            f"/flows/{if_else['id']}",
            json={"definition": third, "base_revision": 2, "message": "No log after all"},
        )
    ).raise_for_status()
    nightly = (
        await api.post("/flows", json={"name": "Nightly order totals", "definition": NIGHTLY})
    ).json()
    hello = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "out", "type": "return", "config": {"value": {"hello": "{{ input.name }}"}}},
        ],
        "edges": [{"from": "start", "to": "out"}],
    }
    greet = (
        await api.post("/flows", json={"name": "Greeting webhook", "definition": hello})
    ).json()
    executions = []
    for n in (3, 30):
        executions.append(
            (await api.post(f"/flows/{if_else['id']}/executions", json={"input": {"n": n}}))
            .raise_for_status()
            .json()["id"]
        )
    executions.append(
        (
            await api.post(f"/flows/{greet['id']}/executions", json={"input": {"name": "Ada"}})
        ).json()["id"]
    )
    failing = (await api.post(f"/flows/{nightly['id']}/executions", json={"input": {}})).json()[
        "id"
    ]
    for execution_id in [*executions, failing]:
        await wait_ended(api, execution_id)
    (
        await api.put("/secrets/GITHUB_HOOK_SECRET", json={"value": "not-a-real-secret"})
    ).raise_for_status()
    (
        await api.post(
            f"/flows/{nightly['id']}/triggers",
            json={
                "type": "schedule",
                "config": {"cron": "30 2 * * 1-5", "timezone": "Europe/Paris"},
                "enabled": True,
            },
        )
    ).raise_for_status()
    (
        await api.post(
            f"/flows/{if_else['id']}/triggers",
            json={
                "type": "webhook",
                "config": {
                    "path": "orders/size",
                    "method": "POST",
                    "auth": {"hmac_secret": "GITHUB_HOOK_SECRET", "hmac_scheme": "github"},
                    "respond": "sync",
                    "sync_timeout_s": 10,
                },
                "enabled": True,
            },
        )
    ).raise_for_status()
    (
        await api.post(
            f"/flows/{if_else['id']}/triggers",
            json={
                "type": "schedule",
                "config": {"cron": "0 9 * * 1", "timezone": "UTC"},
                "enabled": True,
            },
        )
    ).raise_for_status()
    (
        await api.post(
            "/runner-tokens", json={"name": "on-prem rack", "labels": {"location": "onprem"}}
        )
    ).raise_for_status()
    return {"if_else": if_else["id"], "nightly": nightly["id"], "execution": executions[1]}


async def signed_in_page(browser: Browser, base_url: str, scheme: str) -> Page:
    context = await browser.new_context(viewport=VIEWPORT, color_scheme=scheme)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = await context.new_page()
    await page.goto(f"{base_url}/")
    await page.get_by_test_id("login-email").fill(EMAIL)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id("current-user").wait_for()
    return page


async def shoot(page: Page, name: str) -> None:
    await page.mouse.move(0, 0)
    await page.wait_for_load_state("networkidle")
    await page.screenshot(path=str(OUT / f"{name}.png"))
    print(f"wrote docs/screenshots/{name}.png")


async def capture(base_url: str, ids: dict[str, str]) -> None:
    async with async_playwright() as playwright:
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        page = await signed_in_page(browser, base_url, "light")

        await expect(page.get_by_test_id(f"flow-last-status-{ids['if_else']}")).to_be_visible()
        await shoot(page, "flows-list")

        await page.goto(f"{base_url}/#/flows/{ids['if_else']}")
        await expect(page.get_by_test_id("node-out")).to_be_visible()
        await shoot(page, "canvas-if-else")

        await page.get_by_test_id("node-big").click()
        await expect(page.get_by_test_id("node-side-panel")).to_be_visible()
        await page.get_by_test_id("template-help").locator("summary").click()
        await shoot(page, "node-config")
        await page.keyboard.press("Escape")

        await page.get_by_test_id("history-toggle").click()
        await page.get_by_test_id("diff-from-1").check()
        await page.get_by_test_id("diff-to-2").check()
        await page.get_by_test_id("diff-compare").click()
        await expect(page.get_by_test_id("diff-view")).to_be_visible()
        await expect(
            page.get_by_test_id("diff-canvas").get_by_test_id("node-notify")
        ).to_have_attribute("data-diff", "added")
        await shoot(page, "history-diff")

        await page.goto(f"{base_url}/#/executions/{ids['execution']}")
        await expect(page.get_by_test_id("execution-status")).to_have_attribute(
            "data-status", "succeeded"
        )
        await page.get_by_test_id("execution-canvas").get_by_test_id("node-yes").click()
        await expect(page.get_by_test_id("step-panel")).to_be_visible()
        # The step panel narrows the canvas: fit the graph to what is left.
        await (
            page.get_by_test_id("execution-canvas").locator(".react-flow__controls-fitview").click()
        )
        await shoot(page, "execution")

        await page.goto(f"{base_url}/#/flows/{ids['if_else']}")
        await page.get_by_test_id("triggers-link").click()
        await expect(page.locator("[data-testid^=trigger-row-]")).to_have_count(2)
        await shoot(page, "triggers")

        await page.get_by_test_id("nav-runners").click()
        await expect(page.locator("[data-testid^=runner-row-]")).to_have_count(1)
        await shoot(page, "runners")

        dark = await signed_in_page(browser, base_url, "dark")
        await dark.goto(f"{base_url}/#/flows/{ids['if_else']}")
        await expect(dark.get_by_test_id("node-out")).to_be_visible()
        await shoot(dark, "canvas-if-else-dark")
        await browser.close()


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="flomation-screenshots-") as tmp:
        process, base_url = start_flomation(Path(tmp))
        try:
            async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as anonymous:
                token = (
                    await anonymous.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
                ).json()["token"]
            async with httpx.AsyncClient(
                base_url=f"{base_url}/api/v1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ) as api:
                ids = await seed(api)
            await capture(base_url, ids)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
