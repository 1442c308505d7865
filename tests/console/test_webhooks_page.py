"""The Webhooks page in a real browser: all well with a ping round trip; a PagerDuty
subscription disabled (through the PagerDuty simulator's API) shows as a problem, "Fix"
repairs it and says what it fixed, and the page shows ok again."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack
from playwright.sync_api import Page, expect

from .conftest import CONSOLE_GROUP, Screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(CONSOLE_GROUP)]

PD_ACCEPT = "application/vnd.pagerduty+json;version=2"
ROUND_TRIP = r"\d+ ms"


def pd_api(stack: Stack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.pd_url,
        headers={"Authorization": f"Token token={stack.env['PD_TOKEN']}", "Accept": PD_ACCEPT},
        timeout=10.0,
    )


def our_subscription(stack: Stack) -> dict[str, Any]:
    with pd_api(stack) as pd:
        response = pd.get("/webhook_subscriptions")
    response.raise_for_status()
    url = f"{stack.url('ingest')}/webhooks/pagerduty/{ACCOUNT}"
    (found,) = [
        s for s in response.json()["webhook_subscriptions"] if s["delivery_method"]["url"] == url
    ]
    return found


def test_the_webhooks_page_shows_ok_with_a_ping_round_trip(
    logged_in: Page, screenshot: Screenshot
) -> None:
    logged_in.get_by_role("link", name="Webhooks").click()
    expect(logged_in.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    expect(logged_in.locator("[data-webhooks-verdict]")).to_have_text("ok")
    pd = logged_in.locator(f'section[data-target="pagerduty/{ACCOUNT}"]')
    expect(pd.locator("[data-status]")).to_have_text("ok")
    expect(pd.locator("[data-round-trip]")).to_have_text(re.compile(ROUND_TRIP))
    expect(pd.locator("[data-last-webhook]")).to_be_visible()
    jira = logged_in.locator(f'section[data-target="jira/{INSTANCE}"]')
    expect(jira.locator("[data-status]")).to_have_text("ok")
    screenshot(logged_in, "webhooks")


def test_a_disabled_subscription_shows_and_fix_repairs_it(
    logged_in: Page, console_stack: Stack, screenshot: Screenshot
) -> None:
    sub_id = our_subscription(console_stack)["id"]
    with pd_api(console_stack) as pd:
        pd.put(
            f"/webhook_subscriptions/{sub_id}", json={"webhook_subscription": {"active": False}}
        ).raise_for_status()
    try:
        logged_in.goto("/webhooks")
        expect(logged_in.locator("[data-webhooks-verdict]")).to_have_text("problems found")
        pd_section = logged_in.locator(f'section[data-target="pagerduty/{ACCOUNT}"]')
        expect(pd_section.locator("[data-status]")).to_have_text("problem")
        expect(pd_section).to_contain_text(f"subscription {sub_id} is disabled")
        screenshot(logged_in, "webhooks-problem")

        logged_in.get_by_role("button", name="Fix").click()
        expect(logged_in.get_by_role("status")).to_contain_text(f"fixed: update {sub_id}")
        expect(logged_in.locator("[data-webhooks-verdict]")).to_have_text("ok")
        expect(pd_section.locator("[data-status]")).to_have_text("ok")
        expect(pd_section.locator("[data-round-trip]")).to_be_visible()
        assert our_subscription(console_stack)["active"] is True
        page_text = logged_in.content()
        assert console_stack.env["PD_WEBHOOK_SECRET"] not in page_text
        assert console_stack.env["JIRA_WEBHOOK_SECRET"] not in page_text
    finally:  # leave the stack as found even when the page failed
        with pd_api(console_stack) as pd:
            pd.put(
                f"/webhook_subscriptions/{sub_id}", json={"webhook_subscription": {"active": True}}
            ).raise_for_status()
