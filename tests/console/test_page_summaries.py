"""The flash messages of the Users and Webhooks pages' actions (pure functions)."""

from __future__ import annotations

from pdjira_console.pages.users import automap_summary, import_summary
from pdjira_console.pages.webhooks import fixed_summary

LINK = {"pd_user": {"id": "P1", "email": "a@x.com"}, "jira_user": {"name": "ann", "key": "K1"}}


def test_automap_lists_matches_and_misses_and_says_whether_saved() -> None:
    results = [
        {
            "pd_user_id": "P1",
            "result": {
                "source": "email",
                "jira_user": {"name": "ann"},
                "reason": "same e-mail a@x.com",
            },
        },
        {
            "pd_user_id": "P2",
            "result": {"source": "none", "reason": "no Jira user with e-mail b@x.com"},
        },
    ]
    notice, error = automap_summary(results, save=False)
    assert notice == (
        "Automap found 1 (not saved: tick 'Save' to keep them as links): "
        "P1 -> ann (same e-mail a@x.com)"
    )
    assert error == "P2 not mapped: no Jira user with e-mail b@x.com"
    assert "saved as links" in automap_summary(results, save=True)[0]


def test_import_numbers_lines_as_in_the_file() -> None:
    results = [{"row": 0, "ok": True, "user": LINK}, {"row": 1, "ok": False, "error": "nope"}]
    notice, error = import_summary(results)
    assert notice == "Imported 1 link(s): line 2: P1 <a@x.com> -> ann (K1)"
    assert error == "1 row(s) not linked: line 3: nope"
    assert import_summary([]) == ("", "The CSV has no rows under its header.")


def test_fix_summary_says_what_was_fixed_and_what_was_not() -> None:
    report = {
        "ok": False,
        "targets": [
            {
                "system": "pagerduty",
                "target": "main",
                "actions": [
                    {"op": "update", "id": "S1", "reason": "disabled", "done": True},
                    {"op": "delete", "id": "S2", "reason": "stray", "done": False, "error": "403"},
                ],
                "after_fix": [{"problem": True, "message": "S2 still sends here"}],
            }
        ],
    }
    notice, error = fixed_summary(report)
    assert notice == "PagerDuty account main: fixed: update S1: disabled"
    assert "PagerDuty account main: NOT fixed: delete S2: stray: 403" in error
    assert "still wrong: S2 still sends here" in error
    assert fixed_summary({"ok": True, "targets": []}) == ("Nothing to fix.", "")
