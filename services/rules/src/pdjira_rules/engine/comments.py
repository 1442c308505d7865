"""sync_comments: a note on a linked incident becomes a comment on its issue, a comment on a
linked issue a note on its incident; once per note/comment across all rules (the first rule to
sync it owns it, and the command id is keyed by the note/comment, not the rule)."""

from __future__ import annotations

from typing import Final

from pdjira_common.contracts import AddComment, AddNote, Command, IncidentEvent, IssueEvent

from pdjira_rules.engine.context import Context, Outcome, Subject
from pdjira_rules.engine.sections import run_item, skipped
from pdjira_rules.engine.trail import Trail
from pdjira_rules.rule_model import StoredRule

__all__ = ["ITEM", "comment_command_id", "note_command_id", "sync_comment", "sync_note"]

ITEM: Final = "sync_comments"


def note_command_id(account: str, note_id: str) -> str:
    """Keyed by the note: a note is mirrored once, whatever event or redelivery brings it."""
    return f"note:{account}:{note_id}"


def comment_command_id(instance: str, comment_id: str) -> str:
    """Keyed by the comment: a comment is mirrored once."""
    return f"comment:{instance}:{comment_id}"


def sync_note(ctx: Context[IncidentEvent], stored: StoredRule) -> list[Outcome]:
    if not stored.wrapped.rule.config.sync_comments:
        return [skipped(stored, ITEM, "sync_comments is off")]
    return [run_item(Subject(stored=stored, item=ITEM), lambda s, t: _note(ctx, s, t))]


def sync_comment(ctx: Context[IssueEvent], stored: StoredRule) -> list[Outcome]:
    if not stored.wrapped.rule.config.sync_comments:
        return [skipped(stored, ITEM, "sync_comments is off")]
    return [run_item(Subject(stored=stored, item=ITEM), lambda s, t: _comment(ctx, s, t))]


def _once(ctx: Context[IncidentEvent] | Context[IssueEvent], trail: Trail) -> None:
    owner = ctx.owner(ITEM)
    if owner is not None:
        trail.fail(f"{owner} already syncs it (once per note/comment)")


def _note(
    ctx: Context[IncidentEvent], subject: Subject, trail: Trail
) -> tuple[tuple[Command, ...], str]:
    event, link, wrapped = ctx.event, ctx.link, subject.stored.wrapped
    note = event.note
    if note is None:
        trail.fail("the event carries no note")
    trail.note("sync_comments is on: yes")
    if "note" in ctx.echoes:
        trail.echo("pdjira added this note (mirroring a Jira comment)")
    if link is None:
        trail.fail(f"incident {event.incident_id} is not linked to an issue; note not synced")
    trail.gate(
        link.issue.instance == wrapped.instance,
        f"incident linked to {link.issue.key}",
        f"incident is linked to {link.issue.key} on instance {link.issue.instance!r}, "
        f"not the rule's instance {wrapped.instance!r}",
    )
    if ctx.synced_as is not None:
        trail.fail(f"note {note.id} is already synced (comment {ctx.synced_as})")
    _once(ctx, trail)
    agent = event.agent
    command = AddComment(
        command_id=note_command_id(event.account, note.id),
        correlation_id=event.correlation_id,
        incident=event.incident,
        instance=link.issue.instance,
        note_id=note.id,
        body=note.content,
        author_pd_user_id=agent.id if agent and agent.type == "user_reference" else None,
        author_name=agent.summary if agent else None,
    )
    ctx.claim(ITEM, subject.who)
    return (command,), f"note {note.id} -> comment on {link.issue.key}"


def _comment(
    ctx: Context[IssueEvent], subject: Subject, trail: Trail
) -> tuple[tuple[Command, ...], str]:
    event, link, wrapped = ctx.event, ctx.link, subject.stored.wrapped
    comment = event.comment
    if comment is None:
        trail.fail("the event carries no comment")
    trail.note("sync_comments is on: yes")
    if "comment" in ctx.echoes:
        trail.echo("pdjira added this comment (mirroring a PagerDuty note)")
    if link is None:
        trail.fail(f"issue {event.key} is not linked to an incident; comment not synced")
    trail.gate(
        link.incident.account == wrapped.account,
        f"issue linked to incident {link.incident.incident_id}",
        f"issue is linked to an incident of account {link.incident.account!r}, "
        f"not the rule's account {wrapped.account!r}",
    )
    if ctx.synced_as is not None:
        trail.fail(f"comment {comment.id} is already synced (note {ctx.synced_as})")
    _once(ctx, trail)
    command = AddNote(
        command_id=comment_command_id(event.instance, comment.id),
        correlation_id=event.correlation_id,
        incident=link.incident,
        issue=event.issue,
        comment_id=comment.id,
        body=comment.body,
        author_jira_user_key=event.user_key,
        author_jira_user_name=event.user.name if event.user else None,
        author_display_name=event.user.display_name if event.user else None,
    )
    ctx.claim(ITEM, subject.who)
    return (command,), f"comment {comment.id} -> note on incident {link.incident.incident_id}"
