"""Changes by people linked to nobody on the other side (pure): ``mapping.unlinked_users``.

PagerDuty's Jira integration does not pick up a change made by a person whose accounts are not
linked (and no fallback user is set): with ``ignore`` (the default) such a change produces no
command, and the audit record says why; with ``integration_user`` it is applied as the
integration's own user, as pdjira did before.

"Linked" is what mapping answers for the person: a manual link, the same e-mail on both sides,
or the configured fallback user of the account/instance (PagerDuty's guide: the fallback user
acts for a person who is not linked). Only a person's *changes* to a linked counterpart are
concerned (status, notes/comments, fields): creating the counterpart of a new incident or
issue is the rule's own act, and is made whoever created the original.

Who acted: a PagerDuty ``user_reference`` agent, or the Jira user of the webhook, unless that
is the instance's configured integration login (whose non-echo changes are never a person's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pdjira_common.config import Config
from pdjira_common.contracts import (
    AddComment,
    AddNote,
    Event,
    IncidentEvent,
    Link,
    RuleVerdict,
    TransitionIssue,
    UpdateIncident,
    UpdateIncidentFields,
    UpdateIssueFields,
)
from pdjira_common.requests import UserLookup, UserReply

from pdjira_rules.engine import Decision

__all__ = [
    "IGNORED",
    "UNLINKED_RULE",
    "UnlinkedPolicy",
    "actor_lookup",
    "apply_unlinked_policy",
    "unlinked_policy",
]

UNLINKED_RULE: Final = "unlinked_users"
IGNORED: Final = "ignored"  # how the verdict of an ignored change starts (the audit summary)
# The commands that carry a person's change to the counterpart (not creates).
PERSON_CHANGES = (
    UpdateIncident,
    UpdateIncidentFields,
    AddNote,
    TransitionIssue,
    UpdateIssueFields,
    AddComment,
)


@dataclass(frozen=True, kw_only=True)
class UnlinkedPolicy:
    """``mode`` from ``mapping.unlinked_users``; ``integration_logins``: per Jira instance,
    the login pdjira acts as (basic auth), whose changes are not a person's."""

    mode: Literal["ignore", "integration_user"] = "ignore"
    integration_logins: tuple[tuple[str, str], ...] = ()


def actor_lookup(
    event: Event, link: Link | None, policy: UnlinkedPolicy | None
) -> UserLookup | None:
    """The mapping lookup of the person who made ``event``'s change, when the policy needs it:
    None with ``integration_user``, for an entity not linked (a person's changes reach only a
    linked counterpart), or when no person acted (a service, an integration, or pdjira's own
    Jira login). Asked before any echo mark is consumed: a lookup that fails is retried."""
    if policy is None or policy.mode != "ignore" or link is None:
        return None
    account, instance = link.incident.account, link.issue.instance
    if isinstance(event, IncidentEvent):
        agent = event.agent
        if agent is None or agent.type != "user_reference" or not agent.id:
            return None
        return UserLookup(account=account, instance=instance, pd_user_id=agent.id)
    user = event.user
    if user is None or not user.key:
        return None
    if (event.instance, user.name or "") in policy.integration_logins:
        return None
    return UserLookup(
        account=account, instance=instance, jira_user_key=user.key, jira_user_name=user.name
    )


def _who(event: Event) -> str:
    if isinstance(event, IncidentEvent):
        agent = event.agent
        name = (agent.summary if agent else None) or (agent.id if agent else None) or "?"
        return f"PagerDuty user {name!r}"
    user = event.user
    login = (user.display_name or user.name or user.key) if user else None
    return f"Jira user {login or '?'!r}"


def apply_unlinked_policy(event: Event, decision: Decision, reply: UserReply | None) -> Decision:
    """``decision`` without its person-caused commands when mapping says the actor is linked
    to nobody (``reply.source`` None), plus a verdict saying what was ignored and why. Linked
    (manual, e-mail, fallback) or nothing asked (``reply`` None): unchanged."""
    if reply is None or reply.source is not None:
        return decision
    kept = tuple(c for c in decision.commands if not isinstance(c, PERSON_CHANGES))
    ignored = [type(c).__name__ for c in decision.commands if isinstance(c, PERSON_CHANGES)]
    if not ignored:
        return decision
    other = "PagerDuty" if not isinstance(event, IncidentEvent) else "Jira"
    reason = (
        f"{IGNORED}: {_who(event)} is not linked to a {other} user "
        f"(unlinked_users: ignore; {reply.reason}); not sent: {', '.join(ignored)}. Link the "
        "person (pdjira users link, or they run pdjira users self-link), give both the same "
        "e-mail, set a fallback user (mapping.fallbacks), or set "
        "mapping.unlinked_users: integration_user"
    )
    verdict = RuleVerdict(rule=UNLINKED_RULE, matched=False, reason=reason)
    return Decision(commands=kept, verdicts=(*decision.verdicts, verdict))


def unlinked_policy(config: Config) -> UnlinkedPolicy:
    """The policy of ``mapping.unlinked_users``, with each instance's basic-auth login."""
    logins = tuple(
        (j.id, j.auth.username)
        for j in config.jira_instances
        if j.auth.type == "basic" and j.auth.username
    )
    return UnlinkedPolicy(mode=config.mapping.unlinked_users, integration_logins=logins)
