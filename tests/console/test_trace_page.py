"""The Trace page in a real browser: an incident creates an issue, and its trace, searched by
incident id and by issue key, shows every step (the webhook received, the rules' decision with
each rule item's verdict, the jira-writer's POST /rest/api/2/issue -> 201 with its latency,
done); an unknown reference says what to give. Runs on the shared console stack."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
import pytest
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack
from playwright.sync_api import Page, expect

from .conftest import CONSOLE_GROUP, PHONE, Screenshot, poll

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(CONSOLE_GROUP)]

T = TypeVar("T")


def synced_incident(stack: Stack, title: str) -> tuple[str, dict[str, Any]]:
    """A triggered incident and, once the system made it, its Jira issue."""
    created = httpx.post(f"{stack.pd_url}/_sim/incidents", json={"title": title}, timeout=10.0)
    incident_id: str = created.raise_for_status().json()["incident"]["id"]
    label = f"pdjira-{ACCOUNT}-{incident_id}"

    def issue() -> dict[str, Any] | None:
        state = httpx.get(f"{stack.jira_url}/_sim/state", timeout=10.0).raise_for_status()
        found = [i for i in state.json()["issues"] if label in i["fields"].get("labels", [])]
        return found[0] if found else None

    return incident_id, poll(issue, timeout=30, what=f"the issue of {incident_id}")


def search(page: Page, ref: str) -> None:
    """Search ``ref``; reloaded until the writer's record (the POST -> 201) is in the trace:
    it is written once the issue exists, a moment later."""
    page.goto("/trace")
    page.get_by_label("Incident, issue key or event id").fill(ref)
    page.get_by_role("button", name="Show trace").click()

    def written() -> bool:
        if page.locator('li[data-kind="write"]', has_text="-> 201").count():
            return True
        page.reload()
        return False

    poll(written, timeout=30, what=f"the trace of {ref} with the Jira write")


def test_the_trace_of_a_synced_incident_shows_every_step(
    logged_in: Page, console_stack: Stack, screenshot: Screenshot
) -> None:
    incident_id, issue = synced_incident(console_stack, "Console trace: disk full")
    key = issue["key"]

    search(logged_in, incident_id)
    expect(logged_in).to_have_url(
        f"{console_stack.console_url}/trace?ref={incident_id}&instance=&account=&since="
    )
    entity = f"pd:{ACCOUNT}:{incident_id}"
    timeline = logged_in.get_by_role("list", name=f"Trace of {incident_id}")
    expect(timeline).to_be_visible()
    steps = timeline.locator(":scope > li")
    kinds = [steps.nth(i).get_attribute("data-kind") for i in range(steps.count())]
    assert kinds[:3] == ["received", "decided", "write"], kinds

    received = steps.nth(0)
    expect(received).to_contain_text("webhook received: incident.triggered")
    expect(received).to_contain_text("+0 ms")
    expect(received).to_contain_text(entity)
    decided = steps.nth(1)
    expect(decided).to_contain_text("rules decided incident.triggered: 1 command(s): CreateIssue")
    verdict = decided.locator("li", has_text="checkout-to-ops").first
    expect(verdict.locator(".verdict")).to_have_text("matched")
    write = steps.nth(2)
    expect(write).to_contain_text("jira-writer CreateIssue")
    expect(write.locator(".status.good", has_text="201")).to_be_visible()
    expect(write).to_contain_text("POST /rest/api/2/issue -> 201 in ")
    expect(write).to_contain_text(f"done: issue {key} (id {issue['id']}) created")
    expect(write.locator(".latency")).to_contain_text(" ms")
    since = write.locator(".since").inner_text()
    assert since.startswith("+"), since
    assert float(since[1:].removesuffix(" ms")) > 0, since
    screenshot(logged_in, "trace")
    logged_in.set_viewport_size(PHONE)
    width = logged_in.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{width}px wide on a {PHONE['width']}px phone"
    logged_in.set_viewport_size({"width": 1280, "height": 800})

    # By issue key, with its instance: the same path, the issue's entity too.
    logged_in.goto("/trace")
    logged_in.get_by_label("Incident, issue key or event id").fill(key)
    logged_in.get_by_label("Jira instance (optional)").fill(INSTANCE)
    logged_in.get_by_role("button", name="Show trace").click()
    by_key = logged_in.get_by_role("list", name=f"Trace of {key}")
    expect(by_key.locator('li[data-kind="received"]').first).to_contain_text(
        "webhook received: incident.triggered"
    )
    expect(by_key.locator('li[data-kind="decided"]').first).to_contain_text("CreateIssue")
    expect(by_key.locator('li[data-kind="write"]', has_text="-> 201").first).to_contain_text(
        f"done: issue {key}"
    )
    expect(logged_in.get_by_text(f"jira:{INSTANCE}:{issue['id']}, {entity}")).to_be_visible()


def test_an_unknown_reference_says_what_to_give(logged_in: Page, screenshot: Screenshot) -> None:
    logged_in.goto("/trace")
    screenshot(logged_in, "trace-search")
    logged_in.get_by_label("Incident, issue key or event id").fill("NOPE-999999")
    logged_in.get_by_role("button", name="Show trace").click()
    alert = logged_in.get_by_role("alert")
    expect(alert).to_contain_text("nothing found for 'NOPE-999999'")
    expect(alert).to_contain_text("give an issue key (OPS-1)")
    expect(logged_in.get_by_label("Incident, issue key or event id")).to_have_value("NOPE-999999")
    logged_in.goto("/trace?ref=OPS-1&since=soon")
    expect(logged_in.get_by_role("alert")).to_contain_text("Hours to look back must be a number")
