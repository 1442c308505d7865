"""The webhook check's decisions (pure): what the subscriptions should be, what is wrong with
those registered, and what --fix does about it."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from pdjira_common.config import Config, parse_config
from pdjira_common.webhook_admin import JiraWebhook, PdSubscription
from pdjira_ingest.webhook_check.plan import (
    JIRA_EVENTS,
    PD_EVENTS,
    PublicUrlError,
    desired_jira,
    desired_pd,
    jira_repaired,
    pd_repaired,
    plan_jira,
    plan_pd,
    project_jql,
    rule_projects,
    shown_url,
)

PUBLIC = "https://pdjira.example.com"
TOKEN = "url-token-7f3a9c"


def make_config(**ingest: Any) -> Config:
    return parse_config(
        {
            "pagerduty_accounts": [
                {"id": "acme", "token": "t", "from_email": "bot@example.com"},
            ],
            "jira_instances": [
                {
                    "id": "dc1",
                    "base_url": "jira.example.com",
                    "auth": {"type": "token", "token": "pat"},
                    "webhook_secret": "hub-secret",
                },
                {
                    "id": "legacy",
                    "base_url": "old-jira.example.com",
                    "auth": {"type": "token", "token": "pat"},
                    "webhook_token": TOKEN,
                },
            ],
            "rules": [
                {
                    "name": "a",
                    "account": "acme",
                    "instance": "dc1",
                    "project": "OPS",
                    "issue_type": "Task",
                },
                {
                    "name": "b",
                    "account": "acme",
                    "instance": "dc1",
                    "project": "SRE",
                    "issue_type": "Task",
                },
            ],
            "ingest": {"public_url": PUBLIC + "/", **ingest},
        }
    )


CONFIG = make_config()
PD = desired_pd(CONFIG, "acme")
JIRA = desired_jira(CONFIG, "dc1", rule_projects(CONFIG, "dc1"))


def sub(**changes: Any) -> PdSubscription:
    return msgspec.structs.replace(PD, **{"id": "PSUB1", **changes})


def hook(**changes: Any) -> JiraWebhook:
    return msgspec.structs.replace(JIRA, **{"id": "7", "api": "v10", **changes})


def kinds(plan: Any) -> list[tuple[str, bool]]:
    return [(f.kind, f.problem) for f in plan.findings]


def ops(plan: Any) -> list[tuple[str, str]]:
    return [(a.op, a.id) for a in plan.actions]


# ------------------------------------------------------------------------------ desired


def test_desired_subscriptions_follow_the_public_url_and_the_rules() -> None:
    assert PD.url == "https://pdjira.example.com/webhooks/pagerduty/acme"
    assert PD.events == PD_EVENTS
    assert "incident.priority_updated" in PD.events
    assert (PD.filter_type, PD.active) == ("account_reference", True)
    assert JIRA.url == "https://pdjira.example.com/webhooks/jira/dc1"
    assert JIRA.events == JIRA_EVENTS == ("jira:issue_created", "jira:issue_updated")
    assert JIRA.jql == 'project in ("OPS", "SRE")'
    legacy = desired_jira(CONFIG, "legacy", None)
    assert legacy.url == f"https://pdjira.example.com/webhooks/jira/legacy?token={TOKEN}"
    assert legacy.jql is None  # no rule on it: no filter
    assert TOKEN not in shown_url(legacy.url)
    assert shown_url(legacy.url).endswith("/webhooks/jira/legacy?token=***")


@pytest.mark.parametrize(
    "public_url", [None, "", "pdjira.example.com", "ftp://x", "https://x/?a=1"]
)
def test_a_missing_or_unusable_public_url_says_what_to_set(public_url: str | None) -> None:
    config = msgspec.structs.replace(
        CONFIG, ingest=msgspec.structs.replace(CONFIG.ingest, public_url=public_url)
    )
    with pytest.raises(PublicUrlError, match=r"ingest\.public_url"):
        desired_pd(config, "acme")


def test_rule_projects_include_the_rules_in_effect_and_give_up_when_unreadable() -> None:
    stored = [
        {"wrapped": {"instance": "dc1", "rule": {"config": {"projects": [{"key": "API"}]}}}},
        {"wrapped": {"instance": "legacy", "rule": {"config": {"projects": [{"id": "10001"}]}}}},
    ]
    assert rule_projects(CONFIG, "dc1", stored) == {"OPS", "SRE", "API"}
    assert rule_projects(CONFIG, "legacy", stored) == {"10001"}
    unreadable = [{"wrapped": {"instance": "dc1", "rule": {"config": {"projects": [{}]}}}}]
    assert rule_projects(CONFIG, "dc1", unreadable) is None  # a too narrow filter loses events
    assert project_jql(None) is None
    assert project_jql(frozenset({'we"ird'})) == 'project in ("we\\"ird")'


# ------------------------------------------------------------------------------ PagerDuty


def test_pd_as_expected_needs_nothing() -> None:
    plan = plan_pd(PD, [sub()])
    assert plan.ok
    assert plan.actions == ()
    assert plan.primary == "PSUB1"


def test_pd_missing_is_created() -> None:
    foreign = PdSubscription(id="POTHER", url="https://hooks.example.org/x", events=PD_EVENTS)
    plan = plan_pd(PD, [foreign])
    assert not plan.ok
    assert kinds(plan) == [("missing", True), ("foreign", False)]
    assert ops(plan) == [("create", "")]  # the foreign one is never touched


def test_pd_disabled_is_activated_and_temporarily_disabled_re_enabled() -> None:
    plan = plan_pd(PD, [sub(active=False, temporarily_disabled=True)])
    assert kinds(plan) == [("disabled", True), ("temporarily_disabled", True)]
    assert ops(plan) == [("update", "PSUB1"), ("enable", "PSUB1")]


def test_pd_wrong_events_and_filter_are_updated_keeping_extra_events() -> None:
    current = sub(
        events=("incident.triggered", "service.created"),
        filter_type="service_reference",
        filter_id="PSVC1",
    )
    plan = plan_pd(PD, [current])
    assert kinds(plan) == [("events", True), ("filter", True)]
    assert ops(plan) == [("update", "PSUB1")]
    repaired = pd_repaired(PD, current)
    assert repaired.filter_type == "account_reference"
    assert repaired.filter_id is None
    assert set(PD_EVENTS) | {"service.created"} == set(repaired.events)


def test_pd_duplicates_keep_the_healthiest() -> None:
    broken = sub(id="PA", active=False)
    good = sub(id="PB")
    plan = plan_pd(PD, [broken, good])
    assert plan.primary == "PB"
    assert kinds(plan) == [("duplicate", True)]
    assert ops(plan) == [("delete", "PA")]


def test_pd_same_path_on_another_host_is_reported_not_touched() -> None:
    other = sub(id="POLD", url="http://10.0.0.5:8080/webhooks/pagerduty/acme")
    plan = plan_pd(PD, [other])
    assert kinds(plan) == [("missing", True), ("other_pdjira", False)]
    assert ops(plan) == [("create", "")]


# ------------------------------------------------------------------------------ Jira


def test_jira_as_expected_and_without_filter_is_fine() -> None:
    assert plan_jira(JIRA, [hook()], ["v10", "v1"], signs=True).ok
    plan = plan_jira(
        JIRA, [hook(jql=None, events=(*JIRA_EVENTS, "jira:issue_deleted"))], ["v10"], signs=True
    )
    assert plan.ok
    assert kinds(plan) == [("no_filter", False)]


def test_jira_missing_is_registered_by_the_newest_api() -> None:
    plan = plan_jira(JIRA, [], ["v10", "v1"], signs=True)
    assert kinds(plan) == [("missing", True)]
    assert [(a.op, a.api) for a in plan.actions] == [("create", "v10")]
    legacy = desired_jira(CONFIG, "legacy", None)
    plan = plan_jira(legacy, [], ["v1"], signs=False)
    assert [(a.op, a.api) for a in plan.actions] == [("create", "v1")]
    assert TOKEN not in plan.findings[0].message


def test_jira_signing_on_a_jira_that_cannot_sign_is_a_problem() -> None:
    plan = plan_jira(JIRA, [hook(api="v1")], ["v1"], signs=True)
    assert ("cannot_sign", True) in kinds(plan)


def test_jira_wrong_parts_are_repaired_in_one_update() -> None:
    current = hook(
        enabled=False, exclude_body=True, events=("jira:issue_created",), jql="project = OPS"
    )
    plan = plan_jira(JIRA, [current], ["v10"], signs=True)
    assert kinds(plan) == [
        ("disabled", True),
        ("exclude_body", True),
        ("events", True),
        ("filter", True),
    ]
    assert [(a.op, a.id, a.api) for a in plan.actions] == [("update", "7", "v10")]
    repaired = jira_repaired(JIRA, current)
    assert (repaired.enabled, repaired.exclude_body) == (True, False)
    assert repaired.jql == JIRA.jql
    assert set(JIRA_EVENTS) <= set(repaired.events)


def test_jira_token_mismatch_is_a_url_problem_never_showing_the_token() -> None:
    legacy = desired_jira(CONFIG, "legacy", None)
    stale = msgspec.structs.replace(legacy, id="3", url=legacy.url.replace(TOKEN, "old-token"))
    plan = plan_jira(legacy, [stale], ["v1"], signs=False)
    assert kinds(plan) == [("url", True)]
    assert all(TOKEN not in f.message and "old-token" not in f.message for f in plan.findings)
    assert jira_repaired(legacy, stale).url == legacy.url


def test_jira_duplicates_and_foreign_webhooks() -> None:
    foreign = JiraWebhook(id="1", url="https://ci.example.com/hook", events=JIRA_EVENTS)
    plan = plan_jira(
        JIRA, [foreign, hook(id="8", enabled=False), hook(id="9")], ["v10"], signs=True
    )
    assert plan.primary == "9"
    assert kinds(plan) == [("foreign", False), ("duplicate", True)]
    assert ops(plan) == [("delete", "8")]
