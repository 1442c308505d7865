"""The user CSV (PagerDuty's export, optional 'Jira user' column) as import rows."""

from __future__ import annotations

import pytest
from pdjira_common.user_csv import UserCsvError, parse_users_csv_text


def test_pagerduty_export_columns_and_an_optional_jira_user() -> None:
    text = "\ufeffID,Name,Login Email,Role,Jira_User\nP1,Ann,ann@x.com,user,ann\nP2,Bob,,user,\n"
    assert parse_users_csv_text(text) == [
        {"pd_user_id": "P1", "email": "ann@x.com", "name": "Ann", "jira_user": "ann"},
        {"pd_user_id": "P2", "email": None, "name": "Bob", "jira_user": None},
    ]


def test_email_only_is_enough() -> None:
    assert parse_users_csv_text("email\nann@x.com\n") == [
        {"pd_user_id": None, "email": "ann@x.com", "name": None, "jira_user": None}
    ]


def test_neither_id_nor_email_says_what_was_found_and_what_to_do() -> None:
    with pytest.raises(UserCsvError, match=r"users\.csv has neither .*found: a, b.*Jira user"):
        parse_users_csv_text("a,b\n1,2\n", "users.csv")
