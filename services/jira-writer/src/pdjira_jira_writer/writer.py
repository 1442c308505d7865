"""Applying Jira commands: idempotent creates, convergent transitions and field updates. Vendor
I/O goes through ``JiraApi``, link lookups through ``find_link``; everything that decides is pure
and elsewhere."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pdjira_common.bus import Retryable, WaitForPrerequisite
from pdjira_common.contracts import (
    AddComment,
    Command,
    CommandFailed,
    CommentAdded,
    CreateIssue,
    FieldsUpdated,
    IncidentRef,
    IssueLinked,
    IssueRef,
    IssueTransitioned,
    Link,
    Outcome,
    TransitionIssue,
    UpdateIssueFields,
    WriteSkipped,
)
from pdjira_common.logging import get_logger
from pdjira_common.mapping_client import MappingUnavailable
from pdjira_common.requests import (
    EchoMark,
    PairLookup,
    PairReply,
    UserLookup,
    UserReply,
    body_digest,
)
from pdjira_common.write_order import (
    LastWrite,
    LastWrites,
    MemoryLastWrites,
    older_than_last,
    write_key,
)

from pdjira_jira_writer.catalog import Catalogs, Choice
from pdjira_jira_writer.errors import JiraError
from pdjira_jira_writer.idempotency import (
    create_fields,
    idempotency_label,
    issue_properties,
    label_jql,
)
from pdjira_jira_writer.issue_fields import fields_to_read, plan_update, wanted_labels
from pdjira_jira_writer.jira_client import JiraApi
from pdjira_jira_writer.models import IssueSnapshot, Transition
from pdjira_jira_writer.transitions import Arrived, NoPath, next_step, same_status

__all__ = [
    "AgreeingMapping",
    "FindLink",
    "JiraWriter",
    "MappingPort",
    "comment_text",
    "pick_existing",
    "priority_wanted",
]

FindLink = Callable[[IncidentRef], Awaitable[Link | None]]
MAX_HOPS = 12


class MappingPort(Protocol):
    """What the writer asks mapping besides links (the service passes ``MappingAsks``)."""

    async def mark(self, mark: EchoMark) -> None: ...

    async def pair(self, lookup: PairLookup) -> PairReply: ...

    async def author(self, lookup: UserLookup) -> str | None: ...

    async def user(self, lookup: UserLookup) -> UserReply: ...


class AgreeingMapping:
    """A mapping that records every mark and knows no pairs or users (decision-path tests)."""

    async def mark(self, mark: EchoMark) -> None:
        return None

    async def pair(self, lookup: PairLookup) -> PairReply:
        return PairReply(note_id=lookup.note_id, comment_id=lookup.comment_id)

    async def author(self, lookup: UserLookup) -> str | None:
        return None

    async def user(self, lookup: UserLookup) -> UserReply:
        return UserReply(reason="no mapping in this test")


def comment_text(body: str, author: str | None) -> str:
    """The comment as posted: the note's text under a line naming who wrote it in PagerDuty."""
    who = author or "PagerDuty"
    return f"[{who} in PagerDuty]\n{body.strip()}"


_log = get_logger(__name__)


def priority_wanted(raw: Any) -> str | None:
    """The priority named by a raw ``priority`` field value (``{"id"}``, ``{"name"}`` or text)."""
    if isinstance(raw, str) and raw.strip():
        return raw
    if isinstance(raw, Mapping):
        value = raw.get("id") or raw.get("name")
        return str(value) if value else None
    return None


def pick_existing(issues: tuple[IssueSnapshot, ...], label: str) -> IssueSnapshot | None:
    """The issue that owns the label (the oldest if an earlier bug made several)."""
    # JQL matches labels case-insensitively; keep only issues that really carry ours.
    wanted = label.casefold()
    owners = [i for i in issues if wanted in {x.casefold() for x in i.fields.labels}]
    if not owners:
        return None
    return min(owners, key=lambda i: (len(i.id), i.id))  # numeric ids: shorter is older


@dataclass(frozen=True, slots=True)
class JiraWriter:
    clients: Mapping[str, JiraApi]
    find_link: FindLink
    mapping: MappingPort = field(default_factory=AgreeingMapping)
    # Cause time of the last status write per incident (write_order.py says why it is ours).
    last_writes: LastWrites = field(default_factory=MemoryLastWrites)
    # Test hook (config writers.crash_after): die as kill -9 would right after that call.
    crash_after: str | None = None
    # What each instance has (projects, issue types, priorities, statuses), to resolve ids.
    catalogs: Catalogs = field(default_factory=Catalogs)

    async def handle(self, command: Command) -> Outcome:
        """The outcome of ``command``; raises Retryable/WaitForPrerequisite to try again later."""
        try:
            if isinstance(command, CreateIssue):
                return await self.create_issue(command)
            if isinstance(command, TransitionIssue):
                return await self.transition_issue(command)
            if isinstance(command, UpdateIssueFields):
                return await self.update_issue_fields(command)
            if isinstance(command, AddComment):
                return await self.add_comment(command)
            return self._failed(
                command.command_id,
                command.correlation_id,
                f"{type(command).__name__} is not a Jira command; the jira-writer received it "
                "on a commands.jira subject: fix the publisher's subject",
            )
        except JiraError as exc:
            return self._failed(
                command.command_id, command.correlation_id, exc.reason, exc.status_code
            )

    async def create_issue(self, command: CreateIssue) -> Outcome:
        """One issue per incident: the mapping's link, else the labelled issue, else a new one."""
        jira = self._client(command.instance)
        link = await self._link(command.incident)
        if link is not None:
            return self._linked(command, link.issue, created=False)
        label = idempotency_label(command.incident)
        found = await jira.search(label_jql(label))
        existing = pick_existing(found.issues, label)
        if existing is not None:
            if found.total > 1:
                _log.warning("duplicate_issues", label=label, keys=[i.key for i in found.issues])
            _log.info("issue_found_by_label", issue=existing.key, label=label)
            return self._linked(command, self._ref(jira, existing.id, existing.key), created=False)
        # Names, keys or ids (PagerDuty's rules carry ids): what Jira lists says which.
        project = await self.catalogs.find(jira, "projects", command.project)
        issue_type = await self.catalogs.find(jira, "issue_types", command.issue_type)
        priority = (
            await self.catalogs.find(jira, "priorities", command.priority)
            if command.priority
            else None
        )
        assignee = None
        if command.assignee_pd_user_id:
            assignee, why = await self._assignee(
                jira, command.incident, command.assignee_pd_user_id
            )
            if why is not None:
                _log.warning("assignee_unmapped", reason=why)
        fields = create_fields(
            command,
            project_id=project.id,
            issue_type_id=issue_type.id,
            priority_id=priority.id if priority else None,
            assignee_name=assignee,
        )
        created = await jira.create_issue(fields, issue_properties(command.incident))
        self._crash_point("create_issue")
        _log.info("issue_created", issue=created.key, project=command.project)
        return self._linked(command, self._ref(jira, created.id, created.key), created=True)

    async def transition_issue(self, command: TransitionIssue) -> Outcome:
        """Move the linked issue to the target status; skip (no write) when already there."""
        jira = self._client(command.instance)
        link = await self._linked_issue(jira, command.incident)
        order_key = write_key("jira", command.incident.account, command.incident.incident_id)
        stale = older_than_last(command.caused_at, await self.last_writes.get(order_key))
        if stale is not None:
            _log.info("write_skipped", issue=link.issue.key, reason=stale)
            return WriteSkipped(
                command_id=command.command_id,
                correlation_id=command.correlation_id,
                reason=f"not moving {link.issue.key} to '{command.target_status}': {stale}",
            )
        target = await self._target_status(jira, command.target_status)
        issue = await jira.get_issue(link.issue.issue_id)
        ref = self._ref(jira, issue.id, issue.key)
        if same_status(issue.status, target):
            # The wanted state holds as of this cause: an older cause must not undo it either.
            await self._record(order_key, command, issue.status)
            return WriteSkipped(
                command_id=command.command_id,
                correlation_id=command.correlation_id,
                reason=f"issue {issue.key} is already in status '{issue.status}'",
            )
        start, current = issue.status, issue.status
        seen: dict[str, tuple[Transition, ...]] = {}
        path: list[str] = []
        for _ in range(MAX_HOPS):
            if same_status(current, target):
                break  # arrived: no further read
            seen[current] = await jira.get_transitions(issue.id)
            step = next_step(
                issue_key=issue.key,
                current=current,
                target=target,
                seen=seen,
                resolution=command.resolution,
            )
            if isinstance(step, Arrived):
                break
            if isinstance(step, NoPath):
                moved = f" (moved from '{start}' on the way: {' -> '.join(path)})" if path else ""
                return self._failed(command.command_id, command.correlation_id, step.reason + moved)
            # Mark before writing: the webhook this transition causes is our echo.
            await self._mark(jira, issue.id, "status", step.plan.to_status)
            await jira.transition(issue.id, step.plan.transition_id, step.plan.fields)
            _log.info(
                "issue_transitioned",
                issue=issue.key,
                from_status=current,
                to_status=step.plan.to_status,
                transition=step.plan.transition_name,
                exploring=step.exploring,
            )
            path.append(step.plan.to_status)
            current = step.plan.to_status
        else:
            return self._failed(
                command.command_id,
                command.correlation_id,
                f"issue {issue.key} did not reach '{target}' in {MAX_HOPS} "
                f"transitions (now '{current}', path {' -> '.join(path)}); check the workflow",
            )
        # Before the outcome: the next command of this incident is decided against it.
        await self._record(order_key, command, current)
        return IssueTransitioned(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=command.incident,
            issue=ref,
            from_status=start,
            to_status=current,
            path=tuple(path),
        )

    async def update_issue_fields(self, command: UpdateIssueFields) -> Outcome:
        """Set the linked issue's fields that differ from the command's (none differ: skip)."""
        jira = self._client(command.instance)
        link = await self._linked_issue(jira, command.incident)
        raw = dict(command.fields)
        if "status" in raw:
            raise JiraError(
                "a status cannot be set as a field in Jira; send it as a TransitionIssue "
                "(the rule's status mapping), not in the fields of UpdateIssueFields",
                status_code=None,
            )
        wanted_priority = command.priority
        if wanted_priority is None and "priority" in raw:
            wanted_priority = priority_wanted(raw["priority"])
        if wanted_priority is not None:
            raw.pop("priority", None)  # resolved below, so that its echo can be marked
        priority: Choice | None = None
        if wanted_priority is not None:
            priority = await self.catalogs.find(jira, "priorities", wanted_priority)
        notes: list[str] = []
        assignee = None
        if command.assignee_pd_user_id:
            assignee, why = await self._assignee(
                jira, command.incident, command.assignee_pd_user_id
            )
            if why is not None:
                notes.append(why)
        labels = (
            wanted_labels(command.labels, idempotency_label(command.incident))
            if command.labels is not None
            else None
        )
        read = fields_to_read(
            priority=priority is not None,
            assignee=assignee is not None,
            labels=labels is not None,
            description=command.append_description is not None,
            raw=raw,
        )
        if not read:
            return self._fields_skipped(command, f"nothing to set on {link.issue.key}", notes)
        issue = await jira.get_issue_values(link.issue.issue_id, read)
        plan = plan_update(
            issue.fields,
            priority_id=priority.id if priority else None,
            assignee_name=assignee,
            labels=labels,
            append_description=command.append_description,
            raw=raw,
        )
        if not plan.write:
            return self._fields_skipped(
                command, f"issue {issue.key} already has the wanted {', '.join(read)}", notes
            )
        if priority is not None and "priority" in plan.write:
            # Mark before writing, as Jira's changelog will name it: the webhook is our echo.
            await self._mark(jira, issue.id, "priority", priority.name)
        await jira.update_issue(issue.id, plan.write)
        _log.info("issue_fields_updated", issue=issue.key, fields=plan.names)
        for note in notes:
            _log.warning("field_left_alone", issue=issue.key, reason=note)
        return FieldsUpdated(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            target=f"jira:{jira.instance}:{issue.id}",
            fields=plan.names,
            left_alone=tuple(notes),
        )

    async def add_comment(self, command: AddComment) -> Outcome:
        """Post the note as a comment once: skipped when mapping knows the note's comment."""
        jira = self._client(command.instance)
        link = await self._link(command.incident)
        if link is None:
            raise WaitForPrerequisite(
                f"no issue is linked to incident {command.incident.account}/"
                f"{command.incident.incident_id} yet"
            )
        pair = await self.mapping.pair(
            PairLookup(incident=command.incident, note_id=command.note_id)
        )
        if pair.comment_id is not None:
            return WriteSkipped(
                command_id=command.command_id,
                correlation_id=command.correlation_id,
                reason=f"note {command.note_id} already has comment {pair.comment_id} "
                f"on {link.issue.key}",
            )
        author = None
        if command.author_pd_user_id:
            author = await self.mapping.author(
                UserLookup(
                    account=command.incident.account,
                    instance=jira.instance,
                    pd_user_id=command.author_pd_user_id,
                )
            )
        text = comment_text(command.body, author)
        await self._mark(jira, link.issue.issue_id, "comment", body_digest(text))
        comment = await jira.add_comment(link.issue.issue_id, text)
        _log.info("comment_added", issue=link.issue.key, comment=comment.id)
        return CommentAdded(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=command.incident,
            issue=link.issue,
            note_id=command.note_id,
            comment_id=comment.id,
        )

    async def _linked_issue(self, jira: JiraApi, incident: IncidentRef) -> Link:
        """The incident's link on this instance; waits for it when it is not there yet."""
        link = await self._link(incident)
        if link is None:
            # The create may still be in flight (or its link not yet recorded): wait for it.
            raise WaitForPrerequisite(
                f"no issue is linked to incident {incident.account}/{incident.incident_id} yet"
            )
        if link.issue.instance != jira.instance:
            raise JiraError(
                f"incident {incident.account}/{incident.incident_id} is linked "
                f"to {link.issue.key} on Jira instance '{link.issue.instance}', not "
                f"'{jira.instance}'; fix the instance of the rule that sent this command",
                status_code=None,
            )
        return link

    async def _target_status(self, jira: JiraApi, target: str) -> str:
        """The status name of ``target``: a name as is; an id (PagerDuty's rules carry
        ``{"id": "3"}`` when they have no label) by what Jira lists; unknown ids fail."""
        if not target.strip().isdigit():
            return target
        return (await self.catalogs.find(jira, "statuses", target)).name

    async def _assignee(
        self, jira: JiraApi, incident: IncidentRef, pd_user_id: str
    ) -> tuple[str | None, str | None]:
        """The Jira user name of a PagerDuty user (mapped, else the fallback user), or None
        and why the assignee is left alone."""
        reply = await self.mapping.user(
            UserLookup(account=incident.account, instance=jira.instance, pd_user_id=pd_user_id)
        )
        if reply.error is not None:
            # Mapping could not answer: not "nobody"; the command retries.
            raise Retryable(f"user lookup failed: {reply.error}")
        if reply.jira_user is not None:
            return reply.jira_user.name, None
        why = reply.reason or "no user mapping"
        return None, (
            f"assignee left alone: PagerDuty user {pd_user_id} has no Jira user ({why}) and no "
            "fallback user is set; link the user or set a fallback user in the user mapping"
        )

    def _fields_skipped(
        self, command: UpdateIssueFields, reason: str, notes: list[str]
    ) -> WriteSkipped:
        text = "; ".join([reason, *notes])
        _log.info("write_skipped", reason=text)
        return WriteSkipped(
            command_id=command.command_id, correlation_id=command.correlation_id, reason=text
        )

    async def _record(self, key: str, command: TransitionIssue, status: str) -> None:
        if command.caused_at is None:
            return  # nothing to order by (an older publisher's command)
        await self.last_writes.put(
            key,
            LastWrite(caused_at=command.caused_at, status=status, command_id=command.command_id),
        )

    async def _mark(self, jira: JiraApi, issue_id: str, what: str, value: str) -> None:
        await self.mapping.mark(
            EchoMark(
                system="jira", entity=f"jira:{jira.instance}:{issue_id}", field=what, value=value
            )
        )

    def _crash_point(self, name: str) -> None:
        if self.crash_after == name:
            _log.error("test_crash", after=name)
            os._exit(137)  # as kill -9: no ack, no outcome, no cleanup

    def _client(self, instance: str) -> JiraApi:
        client = self.clients.get(instance)
        if client is None:
            raise JiraError(
                f"unknown Jira instance '{instance}' (configured: "
                f"{sorted(self.clients) or 'none'}); add it to jira_instances in the config "
                "or fix the rule that names it",
                status_code=None,
            )
        return client

    async def _link(self, incident: IncidentRef) -> Link | None:
        try:
            return await self.find_link(incident)
        except MappingUnavailable as exc:
            raise Retryable(f"link lookup failed: {exc}") from exc

    @staticmethod
    def _ref(jira: JiraApi, issue_id: str, key: str) -> IssueRef:
        return IssueRef(instance=jira.instance, issue_id=issue_id, key=key)

    @staticmethod
    def _linked(command: CreateIssue, issue: IssueRef, *, created: bool) -> IssueLinked:
        return IssueLinked(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=command.incident,
            issue=issue,
            created=created,
        )

    @staticmethod
    def _failed(
        command_id: str, correlation_id: str, reason: str, status_code: int | None = None
    ) -> CommandFailed:
        _log.error("command_failed", reason=reason, status_code=status_code)
        return CommandFailed(
            command_id=command_id,
            correlation_id=correlation_id,
            reason=reason,
            permanent=True,
            status_code=status_code,
        )
