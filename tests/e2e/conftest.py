"""End-to-end fixtures: one real `flomation up` (API, Launch and a local runner on SQLite) for
all the e2e tests, Debian's Chromium driven by Playwright, and a signed-in page per test.

The server and the browser are package-scoped: started once for tests/e2e and stopped when it
is done, so they do not idle beside the rest of the suite."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    StorageState,
    ViewportSize,
    async_playwright,
)

import flomation

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "e2e-supersecret-1"
VIEWPORT: ViewportSize = {"width": 1280, "height": 720}
# Debian's Chromium in a container: no sandbox, no GPU, nothing reaching out to the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
EDITOR_INDEX = Path(flomation.__file__).parent / "api" / "static" / "editor" / "index.html"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()
# Where a failing test leaves a screenshot of its page, to see what the user would have seen.
FAILURE_DIR = Path(os.environ.get("FLOMATION_E2E_ARTIFACTS", "/tmp/flomation-e2e"))


async def _keep_failure_screenshot(request: pytest.FixtureRequest, page: Page, label: str) -> None:
    if not request.node.stash.get(_FAILED, False) or page.is_closed():
        return
    FAILURE_DIR.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(FAILURE_DIR / f"{request.node.name}-{label}.png"))


@dataclass
class Flomation:
    """The running `flomation up`: its URL, an admin API client and where it writes."""

    base_url: str
    api: httpx.AsyncClient
    data_dir: Path
    log_path: Path
    _names: dict[str, int] = field(default_factory=dict)

    def unique(self, prefix: str) -> str:
        """A flow/trigger/secret name no other test uses, readable in screenshots."""
        count = self._names.get(prefix, 0) + 1
        self._names[prefix] = count
        return prefix if count == 1 else f"{prefix} {count}"

    async def create_flow(self, name: str, definition: dict[str, Any]) -> dict[str, Any]:
        response = await self.api.post("/flows", json={"name": name, "definition": definition})
        response.raise_for_status()
        return dict(response.json())

    async def get(self, path: str) -> Any:
        response = await self.api.get(path)
        response.raise_for_status()
        return response.json()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is not installed: `make chromium` installs Debian's package")
    return path


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="package")
def flomation_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    if not EDITOR_INDEX.exists():
        pytest.fail(
            "the editor is not built: `make editor` builds it into src/flomation/api/static/editor"
        )
    workdir = tmp_path_factory.mktemp("flomation-up")
    data_dir = workdir / "data"
    log_path = workdir / "flomation-up.log"
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOMATION_")}
    env.update(
        FLOMATION_DATA_DIR=str(data_dir),
        FLOMATION_ADMIN_EMAIL=ADMIN_EMAIL,
        FLOMATION_ADMIN_PASSWORD=ADMIN_PASSWORD,
        FLOMATION_PORT=str(port),
        FLOMATION_LOG_LEVEL="WARNING",
    )
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flomation", "up"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    pytest.fail(
                        f"flomation up exited with {process.returncode}:\n{log_path.read_text()}"
                    )
                try:
                    if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"flomation up was not ready within 60 s:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield base_url, data_dir, log_path
        finally:
            _stop(process)


@pytest.fixture(scope="package")
async def flomation_up(flomation_process: tuple[str, Path, Path]) -> AsyncIterator[Flomation]:
    base_url, data_dir, log_path = flomation_process
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as anonymous:
        login = await anonymous.post(
            "/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        login.raise_for_status()
        token = login.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", headers=headers, timeout=30) as api:
        yield Flomation(base_url=base_url, api=api, data_dir=data_dir, log_path=log_path)


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=_chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


@pytest.fixture(scope="package")
async def signed_in_state(browser: Browser, flomation_up: Flomation) -> StorageState:
    """Cookies of one sign-in through the page, reused by every test's fresh context."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    await sign_in(page, flomation_up.base_url)
    state = await context.storage_state()
    await context.close()
    return state


class PageErrors(list[str]):
    """Uncaught errors in the page: a test fails when the editor threw."""


async def new_page(
    browser: Browser, state: StorageState | None
) -> tuple[BrowserContext, Page, PageErrors]:
    context = await browser.new_context(viewport=VIEWPORT, storage_state=state)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    errors = PageErrors()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


@pytest.fixture
async def page(
    browser: Browser, signed_in_state: StorageState, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    context, page, errors = await new_page(browser, signed_in_state)
    yield page
    await _keep_failure_screenshot(request, page, "page")
    await context.close()
    assert not errors, f"the editor threw: {errors}"


@pytest.fixture
async def second_page(
    browser: Browser, signed_in_state: StorageState, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """Another browser context of the same user: a second tab, with its own storage."""
    context, page, errors = await new_page(browser, signed_in_state)
    yield page
    await _keep_failure_screenshot(request, page, "second_page")
    await context.close()
    assert not errors, f"the editor threw: {errors}"


async def sign_in(
    page: Page, base_url: str, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
) -> None:
    await page.goto(f"{base_url}/")
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-submit").click()
    await page.get_by_test_id("current-user").wait_for()


async def eventually(check: Any, timeout_s: float = 15.0, interval_s: float = 0.1) -> Any:
    """Polls an async check until it returns something truthy (server-side state, not the page)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout_s} s: last result {result!r}")
        await asyncio.sleep(interval_s)
