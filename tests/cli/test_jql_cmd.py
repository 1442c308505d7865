"""``pdjira jql check``: ok and a summary (exit 0), or Jira's error with a caret (exit 2)."""

from __future__ import annotations

import io

import pytest
from pdjira_cli.jql_cmd import check_report
from pdjira_cli.main import main


def test_a_valid_query_is_ok_with_a_summary_of_its_clauses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["jql", "check", 'project = OPS AND "Customer Tier" in (Gold) ORDER BY key DESC'])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out == [
        "ok",
        '2 clauses: project = OPS; "Customer Tier" IN (Gold) | ORDER BY key DESC',
    ]


def test_an_invalid_query_gives_the_error_its_position_and_a_caret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["jql", "check", "assignee = john.smith@example.com"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "Error in the JQL Query: The character '@' is a reserved JQL character. You must "
        "enclose it in a string or use the escape '\\u0040' instead. (line 1, character 22)",
        "  assignee = john.smith@example.com",
        "                       ^",
    ]


def test_the_caret_is_on_the_line_of_the_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("status = Open\nAND labels = to\n"))
    assert main(["jql", "check", "-"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith("(line 2, character 14)")
    assert err[1:] == ["  AND labels = to", "               ^"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", 0),
        ("ORDER BY created", 0),
        ("status WAS IN Open", 2),
        ("labels = a+b", 2),
        ("cf[10010] = 1 AND issue.property[support].level > 1", 0),
        ('summary ~ "unclosed', 2),
    ],
)
def test_exit_codes(query: str, code: int) -> None:
    report = check_report(query)
    assert report.code == code
    assert (report.query is not None) == (code == 0)
