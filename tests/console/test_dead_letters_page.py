"""The Dead letters page in a real browser: Jira refuses issue creation (Create Issues revoked
on OPS), so the CreateIssue commands of two incidents are dead-lettered; the page lists them
with the reason and a link to their trace; with Jira fixed, "Replay" on one and then "Replay
all" bring the issues into the Jira simulator and empty the list. Runs on the shared console
stack and restores what it breaks (the permission, and no letter of its own left in the DLQ)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import nats
import pytest
from pdjira_common import streams
from pdjira_common.contracts import DeadLetter
from pdjira_common.dead_letters import list_letters
from pdjira_common.subjects import unpartitioned
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack
from playwright.sync_api import Page, expect

from .conftest import CONSOLE_GROUP, PHONE, Screenshot, poll

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(CONSOLE_GROUP)]

T = TypeVar("T")


def in_thread(work: Coroutine[Any, Any, T]) -> T:
    """Playwright's sync API runs its own event loop on this thread: NATS on another one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


def letters(stack: Stack) -> list[tuple[int, DeadLetter]]:
    async def read() -> list[tuple[int, DeadLetter]]:
        client = await nats.connect(stack.nats.url)
        try:
            return await list_letters(client.jetstream())
        finally:
            await client.close()

    return in_thread(read())


def issues_for(jira: httpx.Client, incident_id: str) -> list[dict[str, Any]]:
    label = f"pdjira-{ACCOUNT}-{incident_id}"
    issues = jira.get("/_sim/state").raise_for_status().json()["issues"]
    return [i for i in issues if label in i["fields"].get("labels", [])]


@pytest.fixture
def jira(console_stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console_stack.jira_url, timeout=10.0) as client:
        yield client


@pytest.fixture
def own_letters(console_stack: Stack, jira: httpx.Client) -> Iterator[set[int]]:
    """Ids of the letters the test made; whatever happens, Jira's permissions are restored and
    none of them is left in the DLQ."""
    before = {seq for seq, _ in letters(console_stack)}
    made: set[int] = set()
    yield made
    jira.delete("/_sim/projects/OPS/permissions").raise_for_status()

    async def remove() -> None:
        client = await nats.connect(console_stack.nats.url)
        try:
            js = client.jetstream()
            for seq, _ in await list_letters(js):
                if seq not in before:
                    await js.delete_msg(streams.DLQ, seq)
        finally:
            await client.close()

    in_thread(remove())


def trigger(pd_url: str, title: str) -> str:
    response = httpx.post(f"{pd_url}/_sim/incidents", json={"title": title}, timeout=10.0)
    response.raise_for_status()
    incident_id: str = response.json()["incident"]["id"]
    return incident_id


def test_dead_letters_are_listed_and_replayed_one_and_all(
    logged_in: Page,
    console_stack: Stack,
    jira: httpx.Client,
    own_letters: set[int],
    screenshot: Screenshot,
) -> None:
    logged_in.goto("/dead-letters")
    expect(logged_in.get_by_role("heading", name="Dead letters")).to_be_visible()

    # Jira refuses every create in OPS: the two CreateIssue commands are dead letters.
    revoked = jira.delete("/_sim/projects/OPS/permissions/CREATE_ISSUES")
    assert revoked.status_code == 200, revoked.text
    before = {seq for seq, _ in letters(console_stack)}
    first = trigger(console_stack.pd_url, "Console DLQ: disk full")
    second = trigger(console_stack.pd_url, "Console DLQ: queue stuck")

    def creates() -> list[tuple[int, DeadLetter]] | None:
        found = [
            (seq, letter)
            for seq, letter in letters(console_stack)
            if seq not in before
            and unpartitioned(letter.subject).startswith(f"commands.jira.{INSTANCE}.")
        ]
        return found if len(found) >= 2 else None

    made = poll(creates, timeout=40, what="both CreateIssue commands in the DLQ")
    own_letters.update(seq for seq, _ in made)
    assert issues_for(jira, first) == issues_for(jira, second) == []
    jira.delete("/_sim/projects/OPS/permissions").raise_for_status()  # the fix

    logged_in.reload()
    (one, letter), (other, _) = made
    row = logged_in.locator(f'tr[data-letter="{one}"]')
    expect(row).to_contain_text(letter.subject)
    expect(row).to_contain_text(f"{letter.stream} / {letter.consumer}")
    expect(row).to_contain_text("You do not have permission to create issues")
    expect(row.get_by_role("link", name=f"Trace of {letter.correlation_id}")).to_have_attribute(
        "href", f"/trace?ref={quote(letter.correlation_id or '', safe='')}"
    )
    expect(logged_in.locator(f'tr[data-letter="{other}"]')).to_be_visible()
    screenshot(logged_in, "dead-letters")
    logged_in.set_viewport_size(PHONE)
    width = logged_in.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{width}px wide on a {PHONE['width']}px phone"

    # The letter's trace shows the dead letter with its reason.
    row.get_by_role("link", name=f"Trace of {letter.correlation_id}").click()
    dead = logged_in.locator('li[data-kind="dead-letter"]')
    expect(dead).to_contain_text("dead-lettered by")
    expect(dead).to_contain_text("You do not have permission to create issues")
    logged_in.set_viewport_size({"width": 1280, "height": 800})
    logged_in.goto("/dead-letters")

    # Replay one: its issue appears in Jira, its row is gone, the other waits.
    logged_in.get_by_role("button", name=f"Replay letter {one}").click()
    expect(logged_in.get_by_role("status")).to_contain_text(
        f"Replayed {one}: replayed to {letter.subject}"
    )
    expect(logged_in.locator(f'tr[data-letter="{one}"]')).to_have_count(0)
    expect(logged_in.locator(f'tr[data-letter="{other}"]')).to_be_visible()
    poll(
        lambda: issues_for(jira, first) or issues_for(jira, second),
        timeout=30,
        what="the replayed letter's issue in the Jira simulator",
    )

    # Replay all: the other one too; the list is empty.
    logged_in.get_by_role("button", name="Replay all").click()
    expect(logged_in.get_by_role("status")).to_contain_text(f"{other}: replayed to")
    expect(logged_in.locator(f'tr[data-letter="{other}"]')).to_have_count(0)
    for incident_id in (first, second):
        [issue] = poll(
            lambda incident_id=incident_id: issues_for(jira, incident_id),
            timeout=30,
            what=f"the issue of {incident_id} in the Jira simulator",
        )
        assert issue["fields"]["project"]["key"] == "OPS"
    assert not any(seq in own_letters for seq, _ in letters(console_stack))


def test_replaying_a_letter_that_is_gone_says_so(logged_in: Page) -> None:
    logged_in.goto("/dead-letters")
    token = logged_in.locator('input[name="csrf_token"]').first.get_attribute("value")
    assert token
    # A Replay button of a page shown before someone else replayed the letter.
    logged_in.evaluate(
        """(token) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = "/dead-letters/999999999/replay";
            const field = document.createElement("input");
            field.name = "csrf_token";
            field.value = token;
            form.appendChild(field);
            document.body.appendChild(form);
            form.submit();
        }""",
        token,
    )
    expect(logged_in.get_by_role("alert")).to_contain_text(
        "999999999: no such dead letter: already replayed or removed"
    )
    refused = logged_in.request.post("/dead-letters/999999999/replay", form={"csrf_token": ""})
    assert refused.status == 403
