"""Applying Jira commands: idempotent creates, convergent transitions and field updates. Vendor
I/O goes through ``JiraApi``, link lookups through ``find_link``; everything that decides is pure
and elsewhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pdjira_common import subjects
from pdjira_common.contracts import (
    AddComment,
    Command,
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
from pdjira_common.retry import Retryable, WaitForPrerequisite
from pdjira_writer.errors import Refused
from pdjira_writer.outcomes import CommandRoutes, answering, client_of, echo_mark, failed, skipped
from pdjira_writer.write_order import LastWrites, record_write, stale_reason, write_key

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
from pdjira_jira_writer.models import Comment, IssueHistory, IssueSnapshot, Transition
from pdjira_jira_writer.spec import SPEC
from pdjira_jira_writer.status_guard import DONE, latest_status_change, transition_guard
from pdjira_jira_writer.transitions import (
    Arrived,
    NoPath,
    Step,
    TransitionPlan,
    next_step,
    same_status,
)
from pdjira_jira_writer.workflows import WorkflowKey, Workflows

__all__ = [
    "FindLink",
    "JiraWriter",
    "MappingPort",
    "comment_text",
    "pick_existing",
    "posted_comment",
    "priority_wanted",
]

FindLink = Callable[[IncidentRef], Awaitable[Link | None]]
MAX_HOPS = 12
_JIRA_COMMANDS = CreateIssue | TransitionIssue | UpdateIssueFields | AddComment


class MappingPort(Protocol):
    """What the writer asks mapping besides links (the service passes ``MappingAsks``)."""

    async def mark(self, mark: EchoMark) -> None: ...

    async def pair(self, lookup: PairLookup) -> PairReply: ...

    async def author(self, lookup: UserLookup) -> str | None: ...

    async def user(self, lookup: UserLookup) -> UserReply: ...


def comment_text(body: str, author: str | None) -> str:
    """The comment as posted: the note's text under a line naming who wrote it in PagerDuty."""
    who = author or "PagerDuty"
    return f"[{who} in PagerDuty]\n{body.strip()}"


def posted_comment(comments: Sequence[Comment], text: str) -> Comment | None:
    """The newest comment whose text is exactly ``text`` (what we would post), if any."""
    wanted = text.strip()
    return next((c for c in reversed(comments) if c.body.strip() == wanted), None)


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


ROUTES = CommandRoutes(SPEC)  # which method applies which command


@dataclass(frozen=True, slots=True, kw_only=True)
class JiraWriter:
    clients: Mapping[str, JiraApi]
    find_link: FindLink  # the incident's link, asked of mapping
    mapping: MappingPort
    # Cause time of the last status write per incident (write_order.py says why it is ours).
    last_writes: LastWrites
    # What each instance has (projects, issue types, priorities, statuses), to resolve ids.
    catalogs: Catalogs = field(default_factory=Catalogs)
    # The transitions seen per workflow, to plan a whole path before moving.
    workflows: Workflows = field(default_factory=Workflows)

    async def handle(self, command: Command) -> Outcome:
        """The outcome of ``command``; raises Retryable/WaitForPrerequisite to try again later."""
        return await ROUTES.apply(self, command)

    def outcome_subject(self, command: Command) -> str:
        """``outcomes.jira.<instance>``; a misrouted PagerDuty command reports under "unknown"."""
        instance = command.instance if isinstance(command, _JIRA_COMMANDS) else "unknown"
        return subjects.outcome("jira", instance)

    def creates_prerequisite(self, data: bytes) -> bool:
        """Creates may overtake a command of their entity that waits for the issue to exist."""
        return b'"jira.create_issue.v1"' in data

    @ROUTES.on(CreateIssue)
    async def create_issue(self, command: CreateIssue) -> Outcome:
        """One issue per incident: the mapping's link, else a new one. The issue this command
        may have created before (a crash, a timeout after Jira stored it) is looked for by its
        label in ``recover``, which the kernel runs first whenever the command may have run."""
        jira = self._client(command.instance)
        link = await self._link(command.incident)
        if link is not None:
            return self._linked(command, link.issue, created=False)
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
        _log.info("issue_created", issue=created.key, project=command.project)
        return self._linked(command, self._ref(jira, created.id, created.key), created=True)

    @ROUTES.on(TransitionIssue)
    async def transition_issue(self, command: TransitionIssue) -> Outcome:
        """Move the linked issue to the target status; skip (no write) when already there, or
        when a person's newer change (or Done) must stand."""
        jira = self._client(command.instance)
        link = await self._linked_issue(jira, command.incident)
        order_key = write_key("jira", command.incident.account, command.incident.incident_id)
        stale = await stale_reason(self.last_writes, order_key, command.caused_at)
        if stale is not None:
            reason = f"not moving {link.issue.key} to '{command.target_status}': {stale}"
            return skipped(command, reason)
        target = await self._target_status(jira, command.target_status)
        issue = await jira.get_issue_history(link.issue.issue_id)
        if same_status(issue.status, target):
            # The wanted state holds as of this cause: an older cause must not undo it either.
            await record_write(self.last_writes, order_key, command, issue.status)
            return skipped(command, f"issue {issue.key} is already in status '{issue.status}'")
        guard = await self._guard(jira, issue, command, target)
        if guard is not None:
            return skipped(command, f"not moving {issue.key} to '{target}': {guard}")
        moved = await self._move(jira, issue, target, command.resolution)
        if isinstance(moved, str):
            return failed(command, moved)
        arrived = moved[-1] if moved else target
        # Before the outcome: the next command of this incident is decided against it.
        await record_write(self.last_writes, order_key, command, arrived)
        return IssueTransitioned(
            **answering(command),
            issue=self._ref(jira, issue.id, issue.key),
            from_status=issue.status,
            to_status=arrived,
            path=tuple(moved),
        )

    async def _guard(
        self, jira: JiraApi, issue: IssueHistory, command: TransitionIssue, target: str
    ) -> str | None:
        """Why the issue must stay as it is (transition_guard), asking Jira only what it needs."""
        in_done = issue.category == DONE
        target_done = in_done and (await self._status_category(jira, target)) == DONE
        return transition_guard(
            issue_key=issue.key,
            status=issue.status,
            in_done=in_done,
            target_done=target_done,
            reopen=command.reopen,
            caused_at=command.caused_at,
            change=latest_status_change(issue.changelog.histories),
            our_login=await jira.myself() if command.caused_at else "",
        )

    async def _move(
        self, jira: JiraApi, issue: IssueHistory, target: str, resolution: str | None
    ) -> list[str] | str:
        """Walk the issue to ``target`` on the path planned over the workflow seen so far (the
        statuses it passed), or why it cannot get there (back where it started if it can)."""
        kind = self._workflow_key(jira, issue)
        graph = self.workflows.known(kind)
        fresh: set[str] = set()  # statuses whose transitions were read in this command

        async def read(status: str) -> None:
            offered = await jira.get_transitions(issue.id)
            self.workflows.learn(kind, status, offered)
            graph[status.strip().casefold()] = offered
            fresh.add(status.strip().casefold())

        start = current = issue.status
        await read(start)  # where the issue is, as Jira offers it now
        path: list[str] = []
        for _ in range(MAX_HOPS):
            if same_status(current, target):
                return path
            if current.strip().casefold() not in graph:
                await read(current)  # exploring: a status not seen yet
            step = next_step(
                issue_key=issue.key,
                current=current,
                target=target,
                seen=graph,
                resolution=resolution,
            )
            if isinstance(step, Arrived):
                return path
            if isinstance(step, NoPath):
                if not path:
                    await self._unless_moved_meanwhile(jira, issue, kind)
                return await self._give_up(jira, issue, step.reason, start, current, graph, path)
            for plan in step.plans:
                known_now = current.strip().casefold() in fresh
                try:
                    taken = await self._hop(jira, issue, current, plan, stale=not known_now)
                except JiraError as exc:
                    if not path:
                        raise  # nothing moved yet: Jira's refusal as it is
                    # Refused on the way: the issue is not left half-way.
                    return await self._give_up(jira, issue, exc.reason, start, current, graph, path)
                if not taken:
                    await read(current)  # our picture was old: plan again from here
                    break
                path.append(plan.to_status)
                current = plan.to_status
        return (
            f"issue {issue.key} did not reach '{target}' in {MAX_HOPS} transitions (now "
            f"'{current}', path {' -> '.join(path)}); check the workflow"
        )

    async def _hop(
        self, jira: JiraApi, issue: IssueHistory, current: str, plan: TransitionPlan, *, stale: bool
    ) -> bool:
        """Take one transition; False when Jira no longer offers it from ``current`` and our
        picture of ``current`` is an old one (read it again)."""
        # Mark before writing: the webhook this transition causes is our echo.
        await self._mark(jira, issue.id, "status", plan.to_status)
        try:
            await jira.transition(issue.id, plan.transition_id, plan.fields)
        except JiraError as exc:
            if exc.status_code != httpx.codes.BAD_REQUEST:
                raise
            now = await jira.get_issue(issue.id)
            if not same_status(now.status, current):
                # Someone moved it meanwhile: read it again and decide again (their change
                # may now be the newer one).
                raise Retryable(
                    f"issue {issue.key} moved from '{current}' to '{now.status}' while we "
                    f"transitioned it ({exc.reason}); retrying on its new status"
                ) from exc
            if stale:
                return False
            raise
        _log.info(
            "issue_transitioned",
            issue=issue.key,
            from_status=current,
            to_status=plan.to_status,
            transition=plan.transition_name,
        )
        return True

    async def _unless_moved_meanwhile(
        self, jira: JiraApi, issue: IssueHistory, kind: WorkflowKey
    ) -> None:
        """Jira names no status with the transitions it offers: if a person moved the issue
        between our read and theirs, those were another status's. Forget them and retry."""
        now = await jira.get_issue_history(issue.id)
        if not same_status(now.status, issue.status):
            self.workflows.forget(kind, issue.status)
            raise Retryable(
                f"issue {issue.key} moved from '{issue.status}' to '{now.status}' while we "
                "planned its transitions; planning again"
            )

    async def _give_up(
        self,
        jira: JiraApi,
        issue: IssueHistory,
        reason: str,
        start: str,
        current: str,
        graph: Mapping[str, Sequence[Transition]],
        path: list[str],
    ) -> str:
        """No path from here (found out on the way): walk back to ``start`` on known
        transitions, so a failed command leaves the issue where it was; say where it is."""
        if not path:
            return reason
        back = next_step(issue_key=issue.key, current=current, target=start, seen=graph)
        if isinstance(back, Step) and not back.exploring:
            for plan in back.plans:
                await self._hop(jira, issue, current, plan, stale=False)
                current = plan.to_status
            _log.warning("issue_walked_back", issue=issue.key, to_status=start, tried=path)
            return f"{reason} (tried {' -> '.join(path)}, then moved it back to '{start}')"
        return (
            f"{reason} (moved from '{start}' on the way: {' -> '.join(path)}, and no known "
            f"transitions lead back; move {issue.key} back to '{start}' by hand)"
        )

    async def _status_category(self, jira: JiraApi, status: str) -> str:
        return (await self.catalogs.find(jira, "statuses", status)).category

    @staticmethod
    def _workflow_key(jira: JiraApi, issue: IssueHistory) -> WorkflowKey:
        project = issue.fields.project.id if issue.fields.project else ""
        issue_type = issue.fields.issuetype.id if issue.fields.issuetype else ""
        return (jira.instance, project, issue_type)

    @ROUTES.on(UpdateIssueFields)
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

    @ROUTES.on(AddComment)
    async def add_comment(self, command: AddComment) -> Outcome:
        """Post the note as a comment once: skipped when mapping knows the note's comment."""
        jira, link = self._client(command.instance), await self._comment_link(command)
        pair = await self.mapping.pair(
            PairLookup(incident=command.incident, note_id=command.note_id)
        )
        if pair.comment_id is not None:
            return skipped(
                command,
                f"note {command.note_id} already has comment {pair.comment_id} on {link.issue.key}",
            )
        text = await self._comment_text(jira, command)
        await self._mark(jira, link.issue.issue_id, "comment", body_digest(text))
        comment = await jira.add_comment(link.issue.issue_id, text)
        _log.info("comment_added", issue=link.issue.key, comment=comment.id)
        return self._comment_added(command, link, comment)

    async def recover(self, command: Command) -> Outcome | None:
        """A create or comment that may have run before (a crash, a redelivery, a failed
        attempt) is adopted, not made twice: the issue by its label, the comment by its text.
        Every other command is convergent and simply applied again."""
        if isinstance(command, CreateIssue):
            try:
                return await self._recover_create(command)
            except Refused as exc:  # as when ``handle`` searched: the failure it is
                return failed(command, exc.reason, exc.status_code)
        if not isinstance(command, AddComment):
            return None
        jira, link = self._client(command.instance), await self._comment_link(command)
        text = await self._comment_text(jira, command)
        posted = posted_comment(await jira.comments(link.issue.issue_id), text)
        if posted is None:
            return None
        _log.info("comment_adopted", issue=link.issue.key, comment=posted.id)
        return self._comment_added(command, link, posted)

    async def _recover_create(self, command: CreateIssue) -> Outcome | None:
        """The incident's issue if it exists: linked (mapping), else labelled (Jira's search:
        the create may have been stored before its outcome was, or before its error came)."""
        jira = self._client(command.instance)
        link = await self._link(command.incident)
        if link is not None:
            return self._linked(command, link.issue, created=False)
        label = idempotency_label(command.incident)
        found = await jira.search(label_jql(label))
        existing = pick_existing(found.issues, label)
        if existing is None:
            return None
        if found.total > 1:
            _log.warning("duplicate_issues", label=label, keys=[i.key for i in found.issues])
        _log.info("issue_found_by_label", issue=existing.key, label=label)
        return self._linked(command, self._ref(jira, existing.id, existing.key), created=False)

    async def _comment_link(self, command: AddComment) -> Link:
        link = await self._link(command.incident)
        if link is None:
            raise WaitForPrerequisite(
                f"no issue is linked to incident {command.incident.account}/"
                f"{command.incident.incident_id} yet"
            )
        return link

    async def _comment_text(self, jira: JiraApi, command: AddComment) -> str:
        author = None
        if command.author_pd_user_id:
            author = await self.mapping.author(
                UserLookup(
                    account=command.incident.account,
                    instance=jira.instance,
                    pd_user_id=command.author_pd_user_id,
                )
            )
        if author in (None, command.author_pd_user_id) and command.author_name:
            author = command.author_name  # the name the event showed, rather than an id
        return comment_text(command.body, author)

    @staticmethod
    def _comment_added(command: AddComment, link: Link, comment: Comment) -> CommentAdded:
        return CommentAdded(
            **answering(command),
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
            # Mapping could not answer (e.g. the user search is held back by the vendor's rate
            # limit): not "nobody", and not this command's failure: it waits for an answer.
            raise WaitForPrerequisite(f"user lookup failed: {reply.error}")
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
        return skipped(command, "; ".join([reason, *notes]))

    async def _mark(self, jira: JiraApi, issue_id: str, what: str, value: str) -> None:
        await self.mapping.mark(echo_mark("jira", jira.instance, issue_id, what, value))

    def _client(self, instance: str) -> JiraApi:
        return client_of(self.clients, instance, SPEC)

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
            **answering(command),
            issue=issue,
            created=created,
        )
