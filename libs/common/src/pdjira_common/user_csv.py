"""A user CSV (PagerDuty's Users > export, optionally with a 'Jira user' column) as rows for
the mapping admin API's import (``pdjira users import`` and the console's Users page)."""

from __future__ import annotations

import csv

__all__ = ["UserCsvError", "parse_users_csv_text"]

# PagerDuty's user CSV (Users > export) names; other columns are ignored.
_ID = {"id", "user id", "pagerduty user id", "pd user id"}
_EMAIL = {"email", "email address", "login email", "e-mail"}
_NAME = {"name", "full name"}
_JIRA = {"jira user", "jira username", "jira login", "jira name", "jira user name"}


class UserCsvError(ValueError):
    """The CSV cannot be used; the message says why and what to do."""


def parse_users_csv_text(text: str, source: str = "the CSV") -> list[dict[str, str | None]]:
    """Rows of ``text`` as {pd_user_id, email, name, jira_user}; UserCsvError if unusable."""
    reader = csv.DictReader(text.lstrip("\ufeff").splitlines())
    columns = {(c or "").strip().casefold().replace("_", " "): c for c in reader.fieldnames or []}

    def column(names: set[str]) -> str | None:
        return next((columns[n] for n in names if n in columns), None)

    id_col, email_col = column(_ID), column(_EMAIL)
    name_col, jira_col = column(_NAME), column(_JIRA)
    if id_col is None and email_col is None:
        found = ", ".join(reader.fieldnames or []) or "none"
        raise UserCsvError(
            f"{source} has neither an 'id' nor an 'email' column (found: {found}); export the "
            "users from PagerDuty or add those columns, and optionally a 'Jira user' column"
        )

    def cell(row: dict[str, str], col: str | None) -> str | None:
        value = (row.get(col) or "").strip() if col else ""
        return value or None

    return [
        {
            "pd_user_id": cell(row, id_col),
            "email": cell(row, email_col),
            "name": cell(row, name_col),
            "jira_user": cell(row, jira_col),
        }
        for row in reader
    ]
