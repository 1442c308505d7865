"""``pdjira config check FILE`` says what the services would refuse at start, every problem at
its path, with the allowed values and the closest one; the rules service refuses the same."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pdjira_cli.main import main
from pdjira_common.config import load_config
from pdjira_rules.rule_loading import RuleLoadError, rules_of_config

BASE: dict[str, Any] = {
    "pagerduty_accounts": [{"id": "acme", "token": "t", "from_email": "bot@example.com"}],
    "jira_instances": [
        {
            "id": "dc1",
            "base_url": "jira.example.com",
            "auth": {"type": "basic", "username": "u", "password": "p"},
            "webhook_secret": "s",
        }
    ],
    "rules": [
        {
            "name": "ops",
            "account": "acme",
            "instance": "dc1",
            "project": "OPS",
            "issue_type": "Task",
            "on_resolve": "Done",
        }
    ],
}


def pd_rule(jql: str) -> dict[str, Any]:
    return {
        "rule": {
            "name": "From Jira",
            "enabled": True,
            "config": {
                "services": [{"id": "PSVC1", "type": "service_reference"}],
                "projects": [{"id": "10100", "key": "OPS", "label": "Operations"}],
                "issue_types": [{"id": "10002", "label": "Task"}],
                "autocreate_incidents": True,
                "autocreate_incidents_config": [
                    {"jql": jql, "on_create": True, "actions": [], "actions_params": {}}
                ],
            },
        }
    }


def check(tmp_path: Path, config: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    code = main(["config", "check", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, path


def test_a_good_config_counts_both_rule_kinds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {**BASE, "pagerduty_rules": [pd_rule('project = OPS AND status = "Open"')]}
    code, out, err, _ = check(tmp_path, config, capsys)
    assert (code, err) == (0, "")
    assert out.startswith("ok: PagerDuty accounts: acme; Jira instances: dc1 (http://jira")
    assert "rules: 1 simple, 1 PagerDuty-style (2 loaded;" in out


def test_a_jql_syntax_error_is_refused_here_and_by_the_rules_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {**BASE, "pagerduty_rules": [pd_rule('project = OPS AND (status = "Done"')]}
    code, out, err, path = check(tmp_path, config, capsys)
    assert code == 2
    assert out == ""
    assert "1 problem(s) in the rules of" in err
    where = "$.pagerduty_rules[0].rule.config.autocreate_incidents_config[0].jql: "
    assert f"  {where}" in err
    # One code path: the service, given the same file, refuses the same problem.
    with pytest.raises(RuleLoadError) as refused:
        rules_of_config(load_config(path))
    assert [str(p) for p in refused.value.problems] == [
        line.strip() for line in err.splitlines()[1:]
    ]


def test_every_rule_problem_is_listed_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = copy.deepcopy(BASE)
    config["rules"].append({**config["rules"][0]})  # same name twice
    config["pagerduty_rules"] = [
        pd_rule("project = OPS AND"),
        {**pd_rule("project = OPS"), "field_templates": {"customfield_1": "{{incident.nope}}"}},
    ]
    code, _, err, _ = check(tmp_path, config, capsys)
    assert code == 2
    assert "3 problem(s)" in err
    assert "$.rules[1].name: " in err
    assert "$.pagerduty_rules[0].rule.config.autocreate_incidents_config[0].jql: " in err
    assert "$.pagerduty_rules[1].field_templates.customfield_1: " in err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["jira_instances"][0]["auth"].update(type="bsic"),
            "config error at $.jira_instances[0].auth.type: 'bsic' is not allowed (did you mean "
            "'basic'?); allowed values: basic, token",
        ),
        (
            lambda c: c["pagerduty_accounts"][0].update(tokn="x"),
            "config error at $.pagerduty_accounts[0].tokn: unknown key 'tokn' (did you mean "
            "'token'?); known keys here: id, token,",
        ),
        (
            lambda c: c.update(rulez=[]),
            "config error at $.rulez: unknown key 'rulez' (did you mean 'rules'?)",
        ),
        (
            lambda c: c.update(log_level="warn"),
            "config error at $.log_level: 'warn' is not a log level (did you mean 'warning'?); "
            "allowed values: debug, info, warning, error, critical",
        ),
        (
            lambda c: c["rules"][0].update(instance="dc2"),
            "config error at $.rules[0].instance: unknown Jira instance 'dc2'",
        ),
    ],
)
def test_config_errors_name_the_path_the_allowed_values_and_the_closest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, expected: str
) -> None:
    config = copy.deepcopy(BASE)
    change(config)
    code, out, err, _ = check(tmp_path, config, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith(expected)


def test_rule_problems_suggest_the_closest_key_and_action(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resolving = pd_rule("project = OPS")
    resolving["rule"]["config"].update(
        react_on_issue_status_change=True,
        react_on_issue_status_change_config=[
            {
                "jira_statuses": [{"id": "10001", "label": "Done"}],
                "actions": [{"key": "pd_resolv", "label": "Resolve"}],
                "actions_params": {},
            }
        ],
    )
    config = {**BASE, "pagerduty_rules": [{**pd_rule("project = OPS"), "priorty_map": {}}]}
    code, _, err, _ = check(tmp_path, config, capsys)
    assert code == 2
    assert "unknown key 'priorty_map' (did you mean 'priority_map'?); known: account," in err
    code, _, err, _ = check(tmp_path, {**BASE, "pagerduty_rules": [resolving]}, capsys)
    assert code == 2
    assert "action 'pd_resolv' does not apply here (did you mean 'pd_resolve'?); actions:" in err
