"""The Rules page in a real browser against the shared console stack: a rule naming a Jira
status that does not exist is refused with the statuses that do; fixed, it is saved and listed
as active; edit, delete, import of PagerDuty's JSON; validation without saving; phone width.
Every rule a test creates is deleted again (the stack is shared)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack
from playwright.sync_api import Locator, Page, expect

from .conftest import CONSOLE_GROUP, PHONE, Screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(CONSOLE_GROUP)]

STATUS_PATH = "$.rule.config.react_on_incident_event_config[0].actions_params.jira_change_status"


def rule_yaml(name: str, status: str) -> str:
    """A PagerDuty-style rule (YAML) moving the OPS issue to ``status`` on resolve."""
    return f"""\
rule:
  name: {json.dumps(name)}
  enabled: true
  config:
    services:
      - summary: Checkout API
    projects:
      - key: OPS
    issue_types:
      - label: Task
    react_on_incident_event: true
    react_on_incident_event_config:
      - condition:
          pd_events: [incident.resolve]
        actions:
          - key: jira_change_status
            isDisabled: false
        actions_params:
          jira_change_status:
            label: {status}
"""


def exported_json(name: str) -> str:
    """A rule as PagerDuty's API exports it (``{"rules": [...]}``; JSON)."""
    rule = {
        "name": name,
        "enabled": True,
        "config": {
            "services": [{"summary": "Checkout API"}],
            "projects": [{"key": "OPS"}],
            "issue_types": [{"label": "Task"}],
            "react_on_incident_event": True,
            "react_on_incident_event_config": [
                {
                    "condition": {"pd_events": ["incident.acknowledge"]},
                    "actions": [{"key": "jira_change_status", "isDisabled": False}],
                    "actions_params": {"jira_change_status": {"label": "In Progress"}},
                }
            ],
        },
    }
    return json.dumps({"rules": [rule]}, indent=2)


def listed(stack: Stack) -> list[dict[str, Any]]:
    token = stack.env["RULES_ADMIN_TOKEN"]
    response = httpx.get(
        f"{stack.rules_url}/rules",
        params={"limit": 100},
        headers={"authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    rules: list[dict[str, Any]] = response.json()["rules"]
    return rules


def named(stack: Stack, name: str) -> list[dict[str, Any]]:
    return [r for r in listed(stack) if r["name"] == name]


@pytest.fixture
def cleanup(console_stack: Stack) -> Iterator[list[str]]:
    """Names of rules the test may create: whatever is left of them is deleted afterwards."""
    names: list[str] = []
    yield names
    token = console_stack.env["RULES_ADMIN_TOKEN"]
    for rule in listed(console_stack):
        if rule["name"] in names:
            httpx.delete(
                f"{console_stack.rules_url}/rules/{rule['id']}",
                headers={"authorization": f"Bearer {token}"},
            ).raise_for_status()


def expect_the_real_statuses(found: Locator, wrong: str) -> None:
    """The refusal names the wrong status and lists the statuses the simulated Jira has."""
    expect(found).to_contain_text(f"status '{wrong}' does not exist; statuses: To Do, In Progress")
    expect(found).to_contain_text("Done")


def open_new_rule(page: Page, cleanup: list[str], name: str) -> None:
    """Open the New rule form for a rule called ``name`` (deleted after the test)."""
    cleanup.append(name)
    page.goto("/rules")
    page.get_by_role("link", name="New rule").click()
    expect(page.get_by_role("heading", name="New rule")).to_be_visible()


def submit(page: Page, rule: str, button: str = "Save") -> None:
    """Put ``rule`` into the form and press ``button``."""
    page.get_by_label("Rule (YAML or JSON").fill(rule)
    page.get_by_role("button", name=button).click()


def create(page: Page, stack: Stack, name: str) -> dict[str, Any]:
    """Save the valid rule ``name`` from the open form; the rule as the rules API lists it."""
    submit(page, rule_yaml(name, "Done"))
    expect(page.get_by_role("status")).to_contain_text("created")
    (created,) = named(stack, name)
    return created


def test_a_rule_with_a_status_jira_lacks_is_refused_with_the_real_ones_then_saved_active(
    logged_in: Page, console_stack: Stack, screenshot: Screenshot, cleanup: list[str]
) -> None:
    name = "console rules: resolve -> Done"
    page = logged_in
    open_new_rule(page, cleanup, name)
    expect(page.get_by_label("PagerDuty account")).to_have_value(ACCOUNT)
    expect(page.get_by_label("Jira instance")).to_have_value(INSTANCE)
    submit(page, rule_yaml(name, "Finished"))

    problems = page.locator(".rule-problems")
    expect(problems).to_contain_text(STATUS_PATH)
    expect_the_real_statuses(problems, "Finished")
    # the form keeps what was typed, and nothing was created
    expect(page.get_by_label("Rule (YAML or JSON")).to_have_value(rule_yaml(name, "Finished"))
    assert named(console_stack, name) == []
    screenshot(page, "rules-form-with-errors")

    submit(page, rule_yaml(name, "Done"))
    expect(page.get_by_role("status")).to_contain_text(f"Rule {name} created")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator("dd[data-state]")).to_have_text("active")
    expect(page.get_by_label("The rule as YAML")).to_contain_text("label: Done")
    screenshot(page, "rules-view")

    page.get_by_role("link", name="All rules").click()
    (created,) = named(console_stack, name)
    row = page.locator(f'tr[data-rule="{created["id"]}"]')
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("pagerduty")
    expect(row).to_contain_text(f"{ACCOUNT} / {INSTANCE}")
    expect(row).to_have_attribute("data-state", "active")
    screenshot(page, "rules-list")


def test_validate_shows_the_problems_or_that_there_are_none_without_saving(
    logged_in: Page, console_stack: Stack, cleanup: list[str]
) -> None:
    name = "console rules: validate only"
    page = logged_in
    open_new_rule(page, cleanup, name)
    submit(page, rule_yaml(name, "Finished"), "Validate")
    expect_the_real_statuses(page.locator(".rule-problems"), "Finished")

    submit(page, rule_yaml(name, "Done"), "Validate")
    expect(page.locator(".rule-ok")).to_contain_text("No problems")
    expect(page.locator(".rule-problems")).to_have_count(0)
    assert named(console_stack, name) == []

    submit(page, "rule: [unclosed", "Validate")
    expect(page.locator(".rule-problems")).to_contain_text("neither YAML nor JSON")


def test_the_form_validates_as_you_type_when_javascript_runs(
    logged_in: Page, console_stack: Stack, cleanup: list[str]
) -> None:
    name = "console rules: typed"
    page = logged_in
    open_new_rule(page, cleanup, name)
    text = page.get_by_label("Rule (YAML or JSON")
    text.fill(rule_yaml(name, "Done"))
    expect(page.locator(".rule-ok")).to_contain_text("No problems")
    text.fill(rule_yaml(name, "Finishe").rstrip())
    text.press("End")
    text.type("d")  # typing, not a click: the check runs after a pause
    expect_the_real_statuses(page.locator(".rule-problems"), "Finished")
    expect(page).to_have_url(f"{console_stack.console_url}/rules/new")
    assert named(console_stack, name) == []


def test_a_rule_is_edited_then_deleted_after_confirming(
    logged_in: Page, console_stack: Stack, cleanup: list[str]
) -> None:
    name = "console rules: to edit"
    page = logged_in
    open_new_rule(page, cleanup, name)
    created = create(page, console_stack, name)

    page.get_by_role("link", name="Edit").click()
    text = page.get_by_label("Rule (YAML or JSON")
    expect(text).to_contain_text("label: Done")
    text.fill(text.input_value().replace("label: Done", "label: Nope"))
    page.get_by_role("button", name="Save").click()
    expect_the_real_statuses(page.locator(".rule-problems"), "Nope")
    text.fill(text.input_value().replace("label: Nope", "label: In Progress"))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text(f"Rule {name} saved")
    expect(page.get_by_label("The rule as YAML")).to_contain_text("label: In Progress")
    (edited,) = named(console_stack, name)
    assert edited["id"] == created["id"]
    params = edited["config"]["react_on_incident_event_config"][0]["actions_params"]
    assert params["jira_change_status"]["label"] == "In Progress"

    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name=f"Delete rule {name}?")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    assert len(named(console_stack, name)) == 1
    page.get_by_role("link", name="Delete").click()
    page.get_by_role("button", name="Delete rule").click()
    expect(page.get_by_role("status")).to_contain_text(f"Rule {created['id']} deleted")
    expect(page.locator(f'tr[data-rule="{created["id"]}"]')).to_have_count(0)
    assert named(console_stack, name) == []


def test_pagerduty_exported_json_is_imported(
    logged_in: Page, console_stack: Stack, screenshot: Screenshot, cleanup: list[str]
) -> None:
    name = "console rules: imported"
    cleanup.append(name)
    page = logged_in
    page.goto("/rules")
    page.get_by_role("link", name="Import PagerDuty JSON").click()
    page.get_by_label("PagerDuty's exported JSON").fill(exported_json(name))
    screenshot(page, "rules-import")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text(f"Imported 1 rule(s): {name}")
    (imported,) = named(console_stack, name)
    assert imported["pdjira"]["account"] == ACCOUNT
    assert imported["pdjira"]["state"] == "active"
    expect(page.locator(f'tr[data-rule="{imported["id"]}"]')).to_contain_text(name)

    # the same export again with a status Jira lacks: not imported, and why
    page.get_by_role("link", name="Import PagerDuty JSON").click()
    wrong = exported_json(name + " 2").replace('"In Progress"', '"Finished"')
    cleanup.append(name + " 2")
    page.get_by_label("PagerDuty's exported JSON").fill(wrong)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("not imported")).to_be_visible()
    expect_the_real_statuses(page.locator("main"), "Finished")
    assert named(console_stack, name + " 2") == []


def test_the_rules_pages_fit_a_phone(
    logged_in: Page, console_stack: Stack, cleanup: list[str]
) -> None:
    name = "console rules: on a phone with a rather long name to wrap"
    page = logged_in
    open_new_rule(page, cleanup, name)
    submit(page, rule_yaml(name, "Finished"))
    expect(page.locator(".rule-problems")).to_be_visible()
    pages = ["/rules/new", "/rules/import"]
    created = create(page, console_stack, name)
    pages += ["/rules", f"/rules/{created['id']}", f"/rules/{created['id']}/edit"]
    page.set_viewport_size(PHONE)
    for path in pages:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path}: {width}px wide on a {PHONE['width']}px phone"
    # the form with its problems too (rendered on POST)
    page.goto("/rules/new")
    submit(page, rule_yaml(name, "Finished"), "Validate")
    expect(page.locator(".rule-problems")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"form with problems: {width}px wide"
