"""The editor's canvas with a large flow, in Debian's Chromium through Playwright, against a
real `flomation up` on SQLite.

1. Open: navigation to the flow's URL until the canvas is fully rendered (every node in the
   DOM, measured and shown). A 500-node flow beside a 10-node flow (the reference).
2. Drag: mouse down on a node, move 80 px in 5 steps, mouse up, until the node is drawn at its
   new place. On the 500-node flow beside the 10-node flow.

Each is repeated BENCH_EDITOR_REPEAT times (default 7, after one warm-up); medians are printed
with the range.

Run: .venv/bin/python bench/editor_canvas.py  (needs `make editor` and `make chromium`)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright

EMAIL = "admin@example.com"
PASSWORD = "bench-editor-canvas-1"
REPEAT = int(os.environ.get("BENCH_EDITOR_REPEAT", "7"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def grid_flow(size: int) -> dict[str, Any]:
    """start -> n1 -> n2 ... : a chain of `set` nodes laid out in rows of 25."""
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start", "position": {"x": 0, "y": 0}}]
    edges: list[dict[str, Any]] = []
    previous = "start"
    for index in range(1, size):
        node_id = f"n{index}"
        nodes.append(
            {
                "id": node_id,
                "type": "set",
                "config": {"values": {"i": index, "prev": f"{{{{ nodes.{previous}.output }}}}"}},
                "position": {"x": (index % 25) * 260, "y": (index // 25) * 140},
            }
        )
        edges.append({"from": previous, "to": node_id})
        previous = node_id
    return {"version": 1, "nodes": nodes, "edges": edges}


def start_flomation(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
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


# Every node of the flow in the DOM, measured by React Flow (unmeasured nodes are hidden).
ALL_RENDERED = """(count) => {
  const nodes = document.querySelectorAll('.react-flow__node');
  if (nodes.length !== count) return false;
  for (const node of nodes) if (getComputedStyle(node).visibility === 'hidden') return false;
  return true;
}"""


# The node is drawn somewhere else than before the drag.
MOVED = """([id, before]) =>
  document.querySelector(`.react-flow__node[data-id="${id}"]`).style.transform !== before"""


async def time_open(page: Page, url: str, count: int) -> float:
    await page.goto("about:blank")
    started = time.perf_counter()
    await page.goto(url)
    await page.wait_for_function(ALL_RENDERED, arg=count, polling="raf", timeout=120_000)
    return time.perf_counter() - started


async def time_drag(page: Page, node_id: str, direction: int) -> float:
    node = page.locator(f'.react-flow__node[data-id="{node_id}"]')
    before = await node.evaluate("el => el.style.transform")
    box = await node.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + 8
    started = time.perf_counter()
    await page.mouse.move(x, y)
    await page.mouse.down()
    for step in range(1, 6):
        await page.mouse.move(x + direction * 16 * step, y + direction * 8 * step)
    await page.mouse.up()
    await page.wait_for_function(
        MOVED,
        arg=[node_id, before],
        polling="raf",
    )
    elapsed = time.perf_counter() - started
    # The drag selected the node and opened its side panel: close it so the canvas is whole.
    await page.keyboard.press("Escape")
    await page.get_by_test_id("node-side-panel").wait_for(state="detached")
    return elapsed


def summary(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    return f"median {statistics.median(ms):7.1f} ms  (range {ms[0]:.1f}-{ms[-1]:.1f}, n={len(ms)})"


async def bench(base_url: str, flows: dict[int, str]) -> None:
    async with async_playwright() as playwright:
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 720})
        page = await context.new_page()
        await page.goto(f"{base_url}/")
        await page.get_by_test_id("login-email").fill(EMAIL)
        await page.get_by_test_id("login-password").fill(PASSWORD)
        await page.get_by_test_id("login-submit").click()
        await page.get_by_test_id("current-user").wait_for()

        results: dict[str, dict[int, list[float]]] = {"open": {}, "drag": {}}
        for size, flow_id in flows.items():
            url = f"{base_url}/#/flows/{flow_id}"
            await time_open(page, url, size)  # warm-up: caches, lazy chunks, JIT
            results["open"][size] = [await time_open(page, url, size) for _ in range(REPEAT)]
            # Drag a node in the middle of the last row down and back: it never lands on another.
            last = size - 1
            target = f"n{(last // 25) * 25 + min(12, (last % 25) // 2)}"
            await time_drag(page, target, 1)
            # Back and forth, so the node stays on screen.
            results["drag"][size] = [
                await time_drag(page, target, -1 if i % 2 == 0 else 1) for i in range(REPEAT)
            ]
        await browser.close()

    for what in ("open", "drag"):
        for size in flows:
            print(f"{what:5} {size:4} nodes: {summary(results[what][size])}")
        big, small = max(flows), min(flows)
        ratio = statistics.median(results[what][big]) / statistics.median(results[what][small])
        print(f"{what:5} {big} vs {small} nodes: x{ratio:.1f}")


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="flomation-bench-editor-") as tmp:
        process, base_url = start_flomation(Path(tmp))
        try:
            async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=60) as anonymous:
                token = (
                    await anonymous.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
                ).json()["token"]
            flows: dict[int, str] = {}
            async with httpx.AsyncClient(
                base_url=f"{base_url}/api/v1",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            ) as api:
                for size in (10, 500):
                    response = await api.post(
                        "/flows", json={"name": f"{size} nodes", "definition": grid_flow(size)}
                    )
                    response.raise_for_status()
                    flows[size] = response.json()["id"]
            await bench(base_url, flows)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


if __name__ == "__main__":
    asyncio.run(main())
