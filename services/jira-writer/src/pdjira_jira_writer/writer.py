"""Applying Jira commands: idempotent creates, convergent transitions. Vendor I/O goes through
``JiraApi``, link lookups through ``find_link``; everything that decides is pure and elsewhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from pdjira_common.bus import Retryable, WaitForPrerequisite
from pdjira_common.contracts import (
    Command,
    CommandFailed,
    CreateIssue,
    IncidentRef,
    IssueLinked,
    IssueRef,
    IssueTransitioned,
    Link,
    Outcome,
    TransitionIssue,
    WriteSkipped,
)
from pdjira_common.logging import get_logger
from pdjira_common.mapping_client import MappingUnavailable

from pdjira_jira_writer.errors import JiraError
from pdjira_jira_writer.idempotency import (
    create_fields,
    idempotency_label,
    issue_properties,
    label_jql,
)
from pdjira_jira_writer.jira_client import JiraApi
from pdjira_jira_writer.models import IssueSnapshot
from pdjira_jira_writer.transitions import NoTransition, choose_transition, same_status

__all__ = ["FindLink", "JiraWriter", "pick_existing"]

FindLink = Callable[[IncidentRef], Awaitable[Link | None]]
_log = get_logger(__name__)


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

    async def handle(self, command: Command) -> Outcome:
        """The outcome of ``command``; raises Retryable/WaitForPrerequisite to try again later."""
        try:
            if isinstance(command, CreateIssue):
                return await self.create_issue(command)
            if isinstance(command, TransitionIssue):
                return await self.transition_issue(command)
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
        created = await jira.create_issue(
            create_fields(command), issue_properties(command.incident)
        )
        _log.info("issue_created", issue=created.key, project=command.project)
        return self._linked(command, self._ref(jira, created.id, created.key), created=True)

    async def transition_issue(self, command: TransitionIssue) -> Outcome:
        """Move the linked issue to the target status; skip (no write) when already there."""
        jira = self._client(command.instance)
        link = await self._link(command.incident)
        if link is None:
            # The create may still be in flight (or its link not yet recorded): wait for it.
            raise WaitForPrerequisite(
                f"no issue is linked to incident {command.incident.account}/"
                f"{command.incident.incident_id} yet"
            )
        if link.issue.instance != jira.instance:
            raise JiraError(
                f"incident {command.incident.account}/{command.incident.incident_id} is linked "
                f"to {link.issue.key} on Jira instance '{link.issue.instance}', not "
                f"'{jira.instance}'; fix the instance of the rule that sent this command",
                status_code=None,
            )
        issue = await jira.get_issue(link.issue.issue_id)
        ref = self._ref(jira, issue.id, issue.key)
        if same_status(issue.status, command.target_status):
            return WriteSkipped(
                command_id=command.command_id,
                correlation_id=command.correlation_id,
                reason=f"issue {issue.key} is already in status '{issue.status}'",
            )
        plan = choose_transition(
            issue_key=issue.key,
            current=issue.status,
            target=command.target_status,
            transitions=await jira.get_transitions(issue.id),
            resolution=command.resolution,
        )
        if isinstance(plan, NoTransition):
            return self._failed(command.command_id, command.correlation_id, plan.reason)
        await jira.transition(issue.id, plan.transition_id, plan.fields)
        _log.info(
            "issue_transitioned",
            issue=issue.key,
            from_status=issue.status,
            to_status=plan.to_status,
            transition=plan.transition_name,
        )
        return IssueTransitioned(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=command.incident,
            issue=ref,
            from_status=issue.status,
            to_status=plan.to_status,
            path=(plan.to_status,),
        )

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
