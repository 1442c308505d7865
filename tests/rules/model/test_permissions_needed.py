"""Which Jira permissions rules need, and what a failure says (pure)."""

from __future__ import annotations

from typing import Any

from pdjira_common.doctor import JiraHealthReply, JiraProjectAccess, JiraServiceDesk
from pdjira_rules.permissions_needed import (
    access_findings,
    permission_needs,
)
from pdjira_rules.rule_model import PdjiraRule, decode_pd_rule
from pdjira_rules.rule_validation import access_problems

ALL = (
    "BROWSE_PROJECTS",
    "CREATE_ISSUES",
    "EDIT_ISSUES",
    "TRANSITION_ISSUES",
    "ASSIGN_ISSUES",
    "ADD_COMMENTS",
)


def rule(name: str = "Ops", project: str = "OPS", **config: Any) -> PdjiraRule:
    raw = {
        "name": name,
        "enabled": True,
        "config": {
            "services": [{"id": "PSVC1", "type": "service_reference"}],
            "projects": [{"key": project}],
            "issue_types": [{"label": "Task"}],
            **config,
        },
    }
    return PdjiraRule(account="acme", instance="dc1", rule=decode_pd_rule(raw))


def react(*actions: str, on: bool = True) -> dict[str, Any]:
    return {
        "react_on_incident_event": on,
        "react_on_incident_event_config": [
            {
                "condition": {"pd_events": ["incident.resolve"]},
                "actions": [{"key": a} for a in actions],
                "actions_params": {},
            }
        ],
    }


def needed(*rules: PdjiraRule) -> dict[tuple[str, str], list[str]]:
    return {
        (n.project, n.permission): [f"{u.rule}@{u.path}:{u.why}" for u in n.uses]
        for n in permission_needs(rules)
    }


def test_each_action_needs_its_permission() -> None:
    got = needed(
        rule(
            sync_comments=True,
            autocreate_issues=True,
            autocreate_issues_config=[
                {
                    "condition": {"pd_events": ["incident.trigger"]},
                    "actions": [{"key": "jira_field_set_assignee"}],
                    "actions_params": {},
                }
            ],
            **react("jira_change_status", "jira_field_set_priority", "jira_append_description"),
        )
    )
    item = "$.config.react_on_incident_event_config[0]"
    create = "$.config.autocreate_issues_config[0]"
    assert got == {
        ("OPS", "BROWSE_PROJECTS"): ["Ops@$.config.projects[0]:reading issues"],
        ("OPS", "CREATE_ISSUES"): [f"Ops@{create}:autocreate_issues"],
        ("OPS", "EDIT_ISSUES"): [
            f"Ops@{item}.actions[1]:jira_field_set_priority",
            f"Ops@{item}.actions[2]:jira_append_description",
        ],
        ("OPS", "TRANSITION_ISSUES"): [f"Ops@{item}.actions[0]:jira_change_status"],
        ("OPS", "ASSIGN_ISSUES"): [f"Ops@{create}.actions[0]:jira_field_set_assignee"],
        ("OPS", "ADD_COMMENTS"): ["Ops@$.config.sync_comments:sync_comments"],
    }


def test_a_section_switched_off_and_pd_only_actions_need_only_browse() -> None:
    got = needed(rule(**react("jira_change_status", on=False)))
    assert list(got) == [("OPS", "BROWSE_PROJECTS")]


def test_rules_sharing_a_project_are_named_together() -> None:
    got = needed(rule("A", **react("jira_change_status")), rule("B", **react("jira_change_status")))
    assert [u.split("@")[0] for u in got[("OPS", "TRANSITION_ISSUES")]] == ["A", "B"]


def test_missing_permission_says_rule_project_permission_and_fix() -> None:
    rules = [rule("Mover", **react("jira_change_status"))]
    held = tuple(p for p in ALL if p != "TRANSITION_ISSUES")
    health = JiraHealthReply(
        user="pdjira", projects=(JiraProjectAccess(project="OPS", key="OPS", held=held),)
    )
    findings = access_findings(permission_needs(rules), {"dc1": health})
    failed = [f for f in findings if not f.ok]
    assert [f.check for f in failed] == ["TRANSITION_ISSUES"]
    assert failed[0].message.startswith(
        "rule 'Mover' moves issues in OPS (jira_change_status) but the integration user "
        "'pdjira' lacks Transition Issues in OPS: grant it in the project's permission scheme"
    )
    [problem] = access_problems(findings, rules[0])
    assert problem.path == "$.rule.config.react_on_incident_event_config[0].actions[0]"


def test_service_desk_without_the_user_among_agents_is_reported() -> None:
    rules = [rule("Desk", project="HELP", sync_comments=True)]
    desk = JiraServiceDesk(id="1", request_types=("Get IT help",), agent=False)
    health = JiraHealthReply(
        user="pdjira",
        projects=(JiraProjectAccess(project="HELP", key="HELP", held=ALL, service_desk=desk),),
    )
    findings = access_findings(permission_needs(rules), {"dc1": health})
    [failed] = [f for f in findings if not f.ok]
    assert failed.check == "SERVICE_DESK"
    assert "'pdjira' is not in its 'Service Desk Team' role" in failed.message
    assert "add it to the role" in failed.message
    assert "rule 'Desk'" in failed.message
    agent = JiraServiceDesk(id="1", request_types=("Get IT help",), agent=True)
    fine = JiraHealthReply(
        user="pdjira",
        projects=(JiraProjectAccess(project="HELP", key="HELP", held=ALL, service_desk=agent),),
    )
    assert all(f.ok for f in access_findings(permission_needs(rules), {"dc1": fine}))


def test_unreadable_instance_and_missing_project() -> None:
    rules = [rule("Mover", **react("jira_change_status"))]
    needs = permission_needs(rules)
    [down] = access_findings(needs, {"dc1": JiraHealthReply(error="jira-writer did not answer")})
    assert (down.ok, down.check) == (False, "PROJECT")
    assert "jira-writer did not answer" in down.message
    gone = JiraHealthReply(user="pdjira", projects=(JiraProjectAccess(project="OPS"),))
    [missing] = access_findings(needs, {"dc1": gone})
    assert (missing.check, missing.ok) == ("MISSING", False)
    assert access_problems([missing], rules[0]) == []  # the reference checks name it
