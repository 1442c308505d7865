"""The audit record of one decision (pure), and its dedup id."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final, cast

import msgspec
from pdjira_common.contracts import AuditRecord, Event, IncidentEvent, RuleVerdict, encode

from pdjira_rules.actors import UNLINKED_RULE
from pdjira_rules.engine import ECHO, Decision
from pdjira_rules.engine.scope import out_of_scope
from pdjira_rules.rule_model import StoredRule

__all__ = [
    "RECONCILED",
    "REFUSED",
    "SERVICE",
    "Refused",
    "audit_msg_id",
    "audit_record",
    "refused_of",
    "refused_verdicts",
]

SERVICE = "rules"
RECONCILE = "reconcile"  # the origin of an event made by the reconciliation poller
RECONCILED = "from reconciliation"  # how such an event's audit summary starts
REFUSED: Final = "refused at load"  # how the verdict of a refused rule starts

# A rule left out of every decision (the live catalogs refused it) and its problems.
Refused = Sequence[tuple[StoredRule, Sequence[object]]]


def refused_of(rules: object) -> Refused:
    """The refused rules of a rule source that keeps them (CheckedRules), else none."""
    refused_rules = getattr(rules, "refused_rules", None)
    return cast(Refused, refused_rules()) if callable(refused_rules) else ()


def refused_verdicts(event: Event, refused: Refused) -> tuple[RuleVerdict, ...]:
    """A verdict for each refused rule that would have applied to ``event`` (its account or
    instance, services, projects and issue types): the event is not silently unmatched."""
    return tuple(
        RuleVerdict(
            rule=stored.name,
            matched=False,
            reason=f"{REFUSED}: " + "; ".join(str(p) for p in problems) + "; fix the rule "
            "(or Jira / PagerDuty) and it applies again",
        )
        for stored, problems in refused
        if out_of_scope(stored, event) is None
    )


def _entity(event: Event) -> str:
    if isinstance(event, IncidentEvent):
        return f"pd:{event.account}:{event.incident_id}"
    return f"jira:{event.instance}:{event.issue_id}"


def _summary(event: Event, decision: Decision) -> str:
    what = _what(decision)
    # The audit trail (and the chaos report) count what reconciliation recovered by this.
    return f"{RECONCILED}: {what}" if event.origin == RECONCILE else what


def _what(decision: Decision) -> str:
    if not decision.verdicts:
        return "no rules configured"
    if not decision.commands:
        ignored = next((v.reason for v in decision.verdicts if v.rule == UNLINKED_RULE), None)
        if ignored is not None:
            return ignored.split(";", 1)[0] + ")"  # "ignored: Jira user 'x' is not linked ..."
        if any(v.reason.startswith(ECHO) for v in decision.verdicts):
            return f"{ECHO}: no command"
        return "no rule matched"
    kinds = ", ".join(type(c).__name__ for c in decision.commands)
    return f"{len(decision.commands)} command(s): {kinds}"


def audit_record(
    event: Event, decision: Decision, *, recorded_at: str, refused: Refused = ()
) -> AuditRecord:
    withheld = refused_verdicts(event, refused) if refused else ()
    summary = _summary(event, decision)
    if withheld and not decision.verdicts:
        summary = summary.replace("no rules configured", "no rule in effect")
    if withheld:
        names = ", ".join(v.rule for v in withheld)
        summary += f"; {len(withheld)} rule(s) {REFUSED} would have applied: {names}"
    return AuditRecord(
        correlation_id=event.correlation_id,
        service=SERVICE,
        event_id=event.event_id,
        event_type=event.event_type if isinstance(event, IncidentEvent) else event.webhook_event,
        entity=_entity(event),
        summary=summary,
        recorded_at=recorded_at,
        verdicts=(*decision.verdicts, *withheld),
        command_ids=tuple(c.command_id for c in decision.commands),
    )


def audit_msg_id(record: AuditRecord) -> str:
    """Same event, same decision -> same id (a redelivery is not a second record); a different
    decision about the same event (e.g. the link appeared meanwhile) is recorded too."""
    content = encode(msgspec.structs.replace(record, recorded_at=""))
    return f"audit:{SERVICE}:{record.event_id}:{hashlib.sha256(content).hexdigest()[:16]}"
