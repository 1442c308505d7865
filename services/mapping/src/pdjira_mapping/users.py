"""User mapping decisions (pure): keys, e-mail matching, and the order of the three sources
(manual link, then e-mail, then the fallback user)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pdjira_common.config import UserFallback
from pdjira_common.identity import WhoAmIReply
from pdjira_common.requests import JiraUser, PdUser, UserReply
from pdjira_common.subjects import token

from pdjira_mapping.models import EmailEntry, ManualLink

__all__ = [
    "Side",
    "choose",
    "email_key",
    "fallback_jira",
    "fallback_pd",
    "is_fresh",
    "jira_by_email",
    "manual_key",
    "self_link_conflict",
    "whoami_problem",
]

Side = Literal["pd", "jira"]  # which side the asked user is on


def manual_key(side: Side, account: str, instance: str, user: str) -> str:
    """``manual.<side>.<account>.<instance>.<user id or key>``."""
    return f"manual.{side}.{token(account)}.{token(instance)}.{token(user)}"


def email_key(side: Side, account: str, instance: str, user: str) -> str:
    """``email.<side>.<account>.<instance>.<user id or key>``: the cached e-mail lookup."""
    return f"email.{side}.{token(account)}.{token(instance)}.{token(user)}"


def is_fresh(entry: EmailEntry, *, now: float, ttl: float) -> bool:
    return 0 <= now - entry.cached_at < ttl


def jira_by_email(users: Iterable[JiraUser], email: str) -> tuple[JiraUser | None, str]:
    """The one Jira user whose e-mail is ``email`` (case-insensitive), or None and why.

    Jira's user search also matches names, and hides e-mails by privacy setting: only an exact
    e-mail match counts, and a user without a visible e-mail is not one.
    """
    wanted = email.strip().casefold()
    found = [u for u in users if u.email and u.email.strip().casefold() == wanted]
    if not found:
        return None, f"no Jira user with e-mail {email} (or the e-mail is hidden)"
    if len({u.key for u in found}) > 1:
        names = ", ".join(sorted(u.name for u in found))
        return None, f"several Jira users have e-mail {email} ({names}); link one by hand"
    return found[0], ""


def fallback_jira(fallback: UserFallback | None) -> JiraUser | None:
    if fallback is None or fallback.jira_user is None:
        return None
    return JiraUser(name=fallback.jira_user, key=fallback.jira_user_key or fallback.jira_user)


def fallback_pd(fallback: UserFallback | None) -> PdUser | None:
    if fallback is None or fallback.pd_user_id is None:
        return None
    return PdUser(id=fallback.pd_user_id, email=fallback.pd_user_email)


def choose(
    side: Side,
    *,
    manual: ManualLink | None,
    email: EmailEntry | None,
    fallback: UserFallback | None,
    email_error: str | None = None,
) -> UserReply:
    """The answer for a user on ``side``: manual, then e-mail, then fallback, else unmapped.

    ``email`` None means no e-mail lookup result (none could be made); ``email_error`` means
    the lookup failed: that is reported as an error (nothing to cache, ask again), never as a
    miss that would silently hand the change to the fallback user.
    """
    if manual is not None:
        return UserReply(
            pd_user=manual.pd_user, jira_user=manual.jira_user, source="manual", reason="linked"
        )
    if email_error is not None:
        return UserReply(reason=f"e-mail lookup failed: {email_error}", error=email_error)
    if email is not None and email.found:
        return UserReply(
            pd_user=email.pd_user, jira_user=email.jira_user, source="email", reason=email.reason
        )
    miss = email.reason if email is not None else "no e-mail lookup possible"
    counterpart: PdUser | JiraUser | None = (
        fallback_jira(fallback) if side == "pd" else fallback_pd(fallback)
    )
    if counterpart is not None:
        asked_pd = email.pd_user if email is not None else None
        asked_jira = email.jira_user if email is not None else None
        return UserReply(
            pd_user=counterpart if isinstance(counterpart, PdUser) else asked_pd,
            jira_user=counterpart if isinstance(counterpart, JiraUser) else asked_jira,
            source="fallback",
            reason=f"not mapped ({miss}); using the fallback user",
        )
    return UserReply(
        reason=f"not mapped ({miss}) and no fallback user is configured; "
        "link the user (pdjira users link) or set mapping.fallbacks"
    )


def whoami_problem(pd: WhoAmIReply, jira: WhoAmIReply) -> str | None:
    """Why the two tokens of a self-link do not prove two users (None: they do)."""
    problems = [
        answer.error or f"the {side} token names no user"
        for side, answer, user in (
            ("PagerDuty", pd, pd.pd_user),
            ("Jira", jira, jira.jira_user),
        )
        if user is None
    ]
    return "; ".join(problems) if problems else None


def self_link_conflict(
    pd: PdUser, jira: JiraUser, mine: ManualLink | None, theirs: ManualLink | None
) -> str | None:
    """Why a person may not link ``pd`` and ``jira`` themselves: either is linked by hand to
    someone else already (an admin unlinks that first; a self-link never moves a link)."""
    if mine is not None and mine.jira_user.key != jira.key:
        return (
            f"PagerDuty user {pd.id} is already linked to Jira user {mine.jira_user.name}; "
            f"ask an admin to unlink it first (pdjira users unlink {pd.id})"
        )
    if theirs is not None and theirs.pd_user.id != pd.id:
        return (
            f"Jira user {jira.name} is already linked to PagerDuty user {theirs.pd_user.id}; "
            f"ask an admin to unlink it first (pdjira users unlink {theirs.pd_user.id})"
        )
    return None
