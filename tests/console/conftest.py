"""Browser tests of the admin web console: one stack with the console for the whole run (an
``xdist_group``: one worker), Debian's headless Chromium driven by Playwright (no
``playwright install``: ``make test`` installs the ``chromium`` package when missing).

Package-scoped, not session-scoped: Playwright's sync API keeps its event loop set as the
thread's running loop until it stops, which breaks every asyncio test the worker runs after it;
so the browser, the driver and the stack stop when the worker leaves this package.

Fixtures: ``console_stack`` (the stack), ``browser`` (one per worker), ``page`` (a fresh
context, not logged in), ``logged_in`` (a page logged in with the admin token) and
``screenshot(page, name)`` (desktop 1280x800 and phone 390x844 PNGs of the current page in
``<basetemp>/console-screenshots/``).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from pdjira_devstack.stack import Stack, StackSettings
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CONSOLE_GROUP = "console-stack"  # the xdist group of every console test module
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
Screenshot = Callable[[Page, str], list[Path]]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "the console's browser tests need Debian's chromium: `make browser` installs it "
            "(as root), or `sudo apt-get install chromium`"
        )
    return found


@pytest.fixture(scope="package")
def console_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("console-stack")
    with Stack(workdir, StackSettings(console=True)) as running:
        yield running


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
    )
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser, console_stack: Stack) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, base_url=console_stack.console_url)
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def log_in(page: Page, token: str) -> None:
    page.goto("/login")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def logged_in(page: Page, console_stack: Stack) -> Page:
    log_in(page, console_stack.env["CONSOLE_ADMIN_TOKEN"])
    page.wait_for_url("**/")
    return page


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "console-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"console screenshots: {folder}")
    return folder


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Screenshot:
    """Save ``<name>-desktop.png`` and ``<name>-phone.png`` of the page; the viewport is put
    back to desktop afterwards."""

    def take(page: Page, name: str) -> list[Path]:
        saved = []
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            path = screenshot_dir / f"{name}-{label}.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
        page.set_viewport_size(DESKTOP)
        print(f"screenshots of {name}: {', '.join(map(str, saved))}")
        return saved

    return take


T = TypeVar("T")


def poll(probe: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """The first truthy value ``probe`` returns, checked every 0.2 s; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)
