"""The console in a real browser: login, CSRF, logout, the Health page, keyboard, phone width."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import msgspec
import nats
import pytest
from pdjira_common.streams import KV_WEBHOOKS
from pdjira_common.webhook_admin import WebhookSeen, seen_key
from pdjira_console.pages import PAGES
from pdjira_devstack.stack import SERVICES, Stack
from playwright.sync_api import Page, expect

from .conftest import CONSOLE_GROUP, PHONE, Screenshot, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(CONSOLE_GROUP)]


def test_a_wrong_token_is_refused_and_the_right_one_logs_in(
    page: Page, console_stack: Stack, screenshot: Screenshot
) -> None:
    page.goto("/")
    expect(page).to_have_url(f"{console_stack.console_url}/login?next=/")
    screenshot(page, "login")

    log_in(page, "not-the-token")
    expect(page.get_by_role("alert")).to_contain_text("not the configured console.admin_token")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    log_in(page, console_stack.env["CONSOLE_ADMIN_TOKEN"])
    expect(page.get_by_role("heading", name="Health")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Logged in")
    cookie = next(c for c in page.context.cookies() if c["name"] == "pdjira_console")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"


def test_a_post_without_the_csrf_token_is_refused(logged_in: Page) -> None:
    cookies = {c["name"]: c["value"] for c in logged_in.context.cookies()}
    url = logged_in.url.rstrip("/")
    refused = httpx.post(f"{url}/logout", cookies=cookies, data={})
    assert refused.status_code == 403
    assert "CSRF token is missing or wrong" in refused.text
    wrong = httpx.post(f"{url}/logout", cookies=cookies, data={"csrf_token": "forged"})
    assert wrong.status_code == 403
    # still logged in: the refused POSTs changed nothing
    logged_in.reload()
    expect(logged_in.get_by_role("heading", name="Health")).to_be_visible()


def test_logout_ends_the_session(logged_in: Page, console_stack: Stack) -> None:
    logged_in.get_by_role("button", name="Log out").click()
    expect(logged_in.get_by_role("status")).to_contain_text("Logged out")
    logged_in.goto("/")
    expect(logged_in).to_have_url(f"{console_stack.console_url}/login?next=/")


def test_the_health_page_shows_every_service_and_the_dlq_depth(
    logged_in: Page, screenshot: Screenshot
) -> None:
    for service in SERVICES:
        row = logged_in.locator(f'tr[data-service="{service}"]')
        expect(row).to_contain_text("ok")
        expect(row).to_contain_text("nats: connected")
    expect(logged_in.locator("[data-dlq-depth]")).to_have_text("0")
    expect(logged_in.get_by_role("heading", name="Consumer lag")).to_be_visible()
    lag = logged_in.locator('table[aria-labelledby="lag"]')
    expect(lag).to_contain_text("OUTCOMES")  # the mapping service's durable
    expect(lag).to_contain_text("mapping")
    screenshot(logged_in, "health")


def test_the_skip_link_and_the_nav_are_reachable_by_tab(logged_in: Page) -> None:
    logged_in.keyboard.press("Tab")
    focused = logged_in.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to content"
    # Then every nav link in order, then "Log out" (bounded: the nav has one link per page).
    pages = len(PAGES)
    reached: list[str] = []
    while "Log out" not in reached and len(reached) < pages + 4:
        logged_in.keyboard.press("Tab")
        reached.append(logged_in.evaluate("document.activeElement.textContent").strip())
    assert "Health" in reached
    assert "Log out" in reached


def test_the_pages_fit_a_phone_without_horizontal_scroll(logged_in: Page) -> None:
    logged_in.set_viewport_size(PHONE)
    for path in ("/", "/login"):
        logged_in.goto(path)
        width = logged_in.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path}: {width}px wide on a {PHONE['width']}px phone"


def test_the_console_probes_have_the_common_shape(console_stack: Stack) -> None:
    for probe in ("health", "live"):
        body = httpx.get(f"{console_stack.console_url}/{probe}").json()
        assert body["status"] == "ok"
        assert body["service"] == "console"
        assert body["checks"]["nats"] == "connected"


def test_the_health_page_shows_the_last_webhook_per_source(
    logged_in: Page, console_stack: Stack
) -> None:
    async def record() -> None:
        client = await nats.connect(console_stack.nats.url)
        try:
            kv = await client.jetstream().key_value(KV_WEBHOOKS)
            seen = WebhookSeen(at="2026-12-07T01:02:03Z", replica="ingest-9")
            await kv.put(seen_key("jira", "console-test"), msgspec.json.encode(seen))
        finally:
            await client.close()

    # Playwright's sync API runs its own event loop on this thread: NATS on another one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, record()).result()
    logged_in.reload()
    row = logged_in.locator('table[aria-labelledby="webhooks"] tr', has_text="console-test")
    expect(row).to_contain_text("Jira")
    expect(row).to_contain_text("2026-12-07T01:02:03Z")
    expect(row).to_contain_text("ingest-9")


def test_a_trusted_proxy_header_is_ignored_unless_configured(console_stack: Stack) -> None:
    response = httpx.get(f"{console_stack.console_url}/", headers={"X-Forwarded-User": "mallory"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"
