"""Settings of the Jira simulator (CLI flags map one to one)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JiraSettings"]


@dataclass(frozen=True, slots=True)
class JiraSettings:
    """`username`/`password` is the admin login; `token` a PAT for the same user."""

    username: str = "admin"
    password: str = "admin"  # noqa: S105 - a simulator default, not a secret
    token: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_timeout: float = 10.0
    seed: int | None = None
    base_url: str | None = None
    # (issue type name or id, field id) pairs required when creating OPS issues, e.g.
    # ("Incident", "customfield_10102"); off by default so plain creates keep working.
    required_on_create: tuple[tuple[str, str], ...] = ()
    # Failed basic logins of one user before Jira demands a CAPTCHA (403 on REST); 0 = never.
    captcha_after: int = 3
    # The login user's profile time zone (GET /myself "timeZone"), an IANA name.
    time_zone: str = "UTC"
    # Validate every REST request and answer against the OpenAPI document (common/contract_mode).
    check_contract: bool = False
    contract_strict: bool = False  # also answer a violation with 500 (implies check_contract)
