"""The Users page in a real browser: link and unlink a user through the form, automap by
e-mail, CSV import, and the public self-link page (no login; the person's own tokens)."""

from __future__ import annotations

import httpx
import pytest
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack
from playwright.sync_api import Page, expect

from .conftest import CONSOLE_GROUP, PHONE, Screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(CONSOLE_GROUP)]


def person(stack: Stack, *, pd_id: str, login: str, pd_email: str, jira_email: str) -> None:
    """The same person in both simulators (no tokens)."""
    name = login.title()
    httpx.post(
        f"{stack.pd_url}/_sim/users", json={"id": pd_id, "name": name, "email": pd_email}
    ).raise_for_status()
    httpx.post(
        f"{stack.jira_url}/_sim/users",
        json={"name": login, "email": jira_email, "display_name": name},
    ).raise_for_status()


def manual_links(stack: Stack) -> dict[str, str]:
    """PagerDuty user id -> Jira login of every manual link (mapping's admin API)."""
    response = httpx.get(
        f"{stack.url('mapping')}/admin/v1/users",
        headers={"authorization": f"Bearer {stack.env['MAPPING_ADMIN_TOKEN']}"},
    )
    response.raise_for_status()
    return {u["pd_user"]["id"]: u["jira_user"]["name"] for u in response.json()["users"]}


def unlink_in_page(page: Page, pd_user: str) -> None:
    page.goto("/users")
    page.get_by_role("button", name=f"Unlink {pd_user}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Unlinked: {pd_user}")
    expect(page.locator(f'tr[data-pd-user="{pd_user}"]')).to_have_count(0)


def test_link_a_jira_user_to_a_pagerduty_user_and_unlink_it(
    logged_in: Page, console_stack: Stack, screenshot: Screenshot
) -> None:
    before = manual_links(console_stack)
    logged_in.get_by_role("link", name="Users").click()
    expect(logged_in.get_by_role("heading", name="Users", exact=True)).to_be_visible()

    # A Jira user that does not exist is refused, saying so.
    logged_in.get_by_label("PagerDuty user id", exact=True).fill("PUSER01")
    logged_in.get_by_label("Jira user (login name)").fill("nobody-here")
    logged_in.get_by_role("button", name="Link", exact=True).click()
    expect(logged_in.get_by_role("alert")).to_contain_text("'nobody-here' not found")

    logged_in.get_by_label("PagerDuty user id", exact=True).fill("PUSER01")
    logged_in.get_by_label("Jira user (login name)").fill("jdoe")
    logged_in.get_by_role("button", name="Link", exact=True).click()
    expect(logged_in.get_by_role("status")).to_contain_text("Linked: PUSER01")
    row = logged_in.locator('tr[data-pd-user="PUSER01"]')
    expect(row).to_contain_text("jdoe")
    expect(row).to_contain_text(f"{ACCOUNT} / {INSTANCE}")
    assert manual_links(console_stack)["PUSER01"] == "jdoe"
    expect(logged_in.locator("[data-no-fallbacks]")).to_be_visible()
    screenshot(logged_in, "users")
    logged_in.set_viewport_size(PHONE)
    width = logged_in.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"/users: {width}px wide on a phone"
    logged_in.set_viewport_size({"width": 1280, "height": 800})

    unlink_in_page(logged_in, "PUSER01")
    assert manual_links(console_stack) == before


def on_users_page_send(page: Page, label: str, text: str, button: str) -> None:
    """On a fresh /users, put ``text`` into the field ``label`` and press ``button``."""
    page.goto("/users")
    page.get_by_label(label).fill(text)
    page.get_by_role("button", name=button).click()


def test_automap_reports_matches_and_misses(logged_in: Page, console_stack: Stack) -> None:
    person(
        console_stack,
        pd_id="PAUTO01",
        login="automap",
        pd_email="automap@example.com",
        jira_email="automap@example.com",
    )
    on_users_page_send(logged_in, "PagerDuty user ids", "PAUTO01, PUSER01", "Automap")
    expect(logged_in.get_by_role("status")).to_contain_text("Automap found 1 (not saved")
    expect(logged_in.get_by_role("status")).to_contain_text("PAUTO01 -> automap")
    expect(logged_in.get_by_role("alert")).to_contain_text("PUSER01 not mapped")
    assert "PAUTO01" not in manual_links(console_stack)  # not saved


def test_a_csv_import_links_one_user(logged_in: Page, console_stack: Stack) -> None:
    person(
        console_stack,
        pd_id="PCSV001",
        login="csvperson",
        pd_email="csv@pd.example.com",
        jira_email="csv@jira.example.com",
    )
    on_users_page_send(logged_in, "or paste the CSV", "wrong,columns\n1,2\n", "Import")
    expect(logged_in.get_by_role("alert")).to_contain_text("neither an 'id' nor an 'email'")

    logged_in.get_by_label("CSV file").set_input_files(
        files=[
            {
                "name": "users.csv",
                "mimeType": "text/csv",
                "buffer": b"id,Name,Email,Jira user\nPCSV001,Csv,csv@pd.example.com,csvperson\n",
            }
        ]
    )
    logged_in.get_by_role("button", name="Import").click()
    expect(logged_in.get_by_role("status")).to_contain_text("Imported 1 link(s): line 2: PCSV001")
    expect(logged_in.locator('tr[data-pd-user="PCSV001"]')).to_contain_text("csvperson")
    unlink_in_page(logged_in, "PCSV001")


def test_a_person_links_themself_on_the_public_page(
    page: Page, console_stack: Stack, screenshot: Screenshot
) -> None:
    person(
        console_stack,
        pd_id="PSELF01",
        login="selfie",
        pd_email="selfie@pd.example.com",
        jira_email="selfie@jira.example.com",
    )
    httpx.post(
        f"{console_stack.pd_url}/_sim/users/PSELF01/token", json={"token": "selfie-pd-key"}
    ).raise_for_status()
    httpx.post(
        f"{console_stack.jira_url}/_sim/users/selfie/token", json={"token": "selfie-jira-pat"}
    ).raise_for_status()

    page.goto("/self-link")  # not logged in: no redirect to /login
    expect(page.get_by_role("heading", name="Link your PagerDuty and Jira users")).to_be_visible()
    expect(page.get_by_role("navigation")).to_have_count(0)
    screenshot(page, "self-link")

    page.get_by_label("PagerDuty user API key").fill("selfie-pd-key")
    page.get_by_label("Jira personal access token").fill("not-a-pat")
    page.get_by_role("button", name="Link my users").click()
    expect(page.get_by_role("alert")).to_contain_text("refused the personal access token")
    assert "not-a-pat" not in page.content()
    assert "PSELF01" not in manual_links(console_stack)

    page.get_by_label("PagerDuty user API key").fill("selfie-pd-key")
    page.get_by_label("Jira personal access token").fill("selfie-jira-pat")
    page.get_by_role("button", name="Link my users").click()
    expect(page.get_by_role("status")).to_contain_text("Linked: PSELF01")
    expect(page.get_by_role("status")).to_contain_text("selfie")
    content = page.content()
    assert "selfie-pd-key" not in content
    assert "selfie-jira-pat" not in content
    assert manual_links(console_stack)["PSELF01"] == "selfie"

    # Leave the stack as found.
    httpx.delete(
        f"{console_stack.url('mapping')}/admin/v1/users/{ACCOUNT}/{INSTANCE}/PSELF01",
        headers={"authorization": f"Bearer {console_stack.env['MAPPING_ADMIN_TOKEN']}"},
    ).raise_for_status()


def test_the_public_page_refuses_a_post_without_its_csrf_token(console_stack: Stack) -> None:
    url = f"{console_stack.console_url}/self-link"
    body = {"pd_token": "x", "jira_token": "y", "csrf_token": "forged"}
    refused = httpx.post(url, data=body)
    assert refused.status_code == 403
    assert "CSRF token is missing, expired or wrong" in refused.text
    # The token of the page's own cookie is accepted only with that cookie.
    with httpx.Client() as client:
        form = client.get(url)
        assert form.status_code == 200
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        assert httpx.post(url, data={**body, "csrf_token": token}).status_code == 403
        done = client.post(url, data={**body, "csrf_token": token})
        assert done.status_code == 303  # past the CSRF check (then refused by mapping)
    # The admin pages are still behind the login.
    assert httpx.get(f"{console_stack.console_url}/users").status_code == 303
