"""``pdjira normalize`` / ``pdjira verify``: an operator checks a webhook body by hand and gets
ingest's own answer, with the exit codes scripts can rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ingest.payloads import (
    hub_signature,
    jira_issue_created,
    pd_envelope,
    pd_incident,
    pd_ping,
    pd_signature,
    to_body,
)
from pdjira_cli.main import main


def body_file(tmp_path: Path, body: bytes, name: str = "body.json") -> Path:
    path = tmp_path / name
    path.write_bytes(body)
    return path


def test_normalize_prints_the_pagerduty_event_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = to_body(pd_envelope("incident.acknowledged", pd_incident(status="acknowledged")))
    code = main(
        ["normalize", "--source", "pagerduty", "--account", "acme", str(body_file(tmp_path, body))]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["event"]["type"].startswith("pd.incident.")
    assert out["subject"] == "events.pd.acme.PGR0VU2"
    assert out["event"]["account"] == "acme"
    assert out["event"]["event_type"] == "incident.acknowledged"
    assert out["event"]["incident_id"] == "PGR0VU2"
    assert out["msg_id"] == out["event"]["event_id"]


def test_normalize_prints_the_jira_event_with_a_placeholder_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = to_body(jira_issue_created(key="OPS-9", issue_id="10109"))
    code = main(["normalize", "--source", "jira", str(body_file(tmp_path, body))])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["event"]["type"].startswith("jira.issue.")
    assert out["event"]["instance"] == "main"
    assert out["event"]["key"] == "OPS-9"
    assert out["subject"] == "events.jira.main.10109"


def test_normalize_says_why_a_non_incident_event_is_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["normalize", "--source", "pagerduty", str(body_file(tmp_path, to_body(pd_ping())))]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("ignored (pagey.ping): ")
    assert "not an incident event" in out


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "invalid_json"),
        (to_body({"event": {"event_type": "incident.triggered"}}), "field `event.id` is missing"),
        (to_body({"messages": []}), "v3 webhook"),
    ],
)
def test_normalize_refuses_bad_input_with_ingests_reason_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: bytes, words: str
) -> None:
    code = main(["normalize", "--source", "pagerduty", str(body_file(tmp_path, body))])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "ingest would refuse this pagerduty webhook with 400" in captured.err
    assert words in captured.err


def test_normalize_of_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["normalize", "--source", "jira", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_verify_pagerduty_valid_and_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = to_body(pd_envelope("incident.triggered", pd_incident()))
    path = str(body_file(tmp_path, body))
    header = pd_signature(body, "old-secret", "s3cret")  # rotation: two v1= entries
    args = ["verify", "--source", "pagerduty", "--signature", header, path]
    assert main([*args[:3], "--secret", "s3cret", *args[3:]]) == 0
    assert "valid" in capsys.readouterr().out
    assert main([*args[:3], "--secret", "other", *args[3:]]) == 1
    err = capsys.readouterr().err
    assert "invalid" in err
    assert "s3cret" not in err
    assert "other" not in err


def test_verify_jira_checks_the_exact_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = to_body(jira_issue_created())
    header = hub_signature(body, "jira-secret")
    monkeypatch.setenv("JIRA_WEBHOOK_SECRET", "jira-secret")
    good = str(body_file(tmp_path, body))
    reformatted = str(body_file(tmp_path, json.dumps(json.loads(body), indent=2).encode(), "2"))
    common = ["verify", "--source", "jira", "--secret-env", "JIRA_WEBHOOK_SECRET"]
    assert main([*common, "--signature", header, good]) == 0
    assert main([*common, "--signature", header, reformatted]) == 1
    assert main([*common, "--signature", "v1=" + header[7:], good]) == 1  # PagerDuty's scheme
    capsys.readouterr()
    monkeypatch.delenv("JIRA_WEBHOOK_SECRET")
    assert main([*common, "--signature", header, good]) == 2
    assert "JIRA_WEBHOOK_SECRET is not set" in capsys.readouterr().err
