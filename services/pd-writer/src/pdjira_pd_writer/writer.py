"""Applying PagerDuty commands convergently. Vendor I/O goes through ``PagerDutyApi``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pdjira_common.contracts import (
    Command,
    CommandFailed,
    IncidentUpdated,
    Outcome,
    UpdateIncident,
    WriteSkipped,
)
from pdjira_common.logging import get_logger

from pdjira_pd_writer.decisions import already_there, needs_write
from pdjira_pd_writer.errors import PagerDutyError
from pdjira_pd_writer.pd_client import PagerDutyApi

__all__ = ["PdWriter"]

_log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PdWriter:
    clients: Mapping[str, PagerDutyApi]

    async def handle(self, command: Command) -> Outcome:
        """The outcome of ``command``; raises Retryable to try again later."""
        try:
            if isinstance(command, UpdateIncident):
                return await self.update_incident(command)
            raise PagerDutyError(
                f"{type(command).__name__} is not a PagerDuty command; the pd-writer received "
                "it on a commands.pd subject: fix the publisher's subject",
                status_code=None,
            )
        except PagerDutyError as exc:
            _log.error("command_failed", reason=exc.reason, status_code=exc.status_code)
            return CommandFailed(
                command_id=command.command_id,
                correlation_id=command.correlation_id,
                reason=exc.reason,
                permanent=True,
                status_code=exc.status_code,
            )

    async def update_incident(self, command: UpdateIncident) -> Outcome:
        """Set the incident's status unless it already has it (then no write, so no echo)."""
        pd = self._client(command.incident.account)
        incident_id = command.incident.incident_id
        incident = await pd.get_incident(incident_id)
        if not needs_write(incident.status, command.status):
            return self._skipped(command, f"incident {incident_id} is already {incident.status}")
        try:
            updated = await pd.update_incident_status(incident_id, command.status)
        except PagerDutyError as exc:
            if already_there(exc.code, command.status):
                return self._skipped(
                    command, f"incident {incident_id} became {command.status} meanwhile"
                )
            raise
        _log.info(
            "incident_updated",
            incident=incident_id,
            from_status=incident.status,
            to_status=updated.status,
        )
        return IncidentUpdated(
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            incident=command.incident,
            from_status=incident.status,
            to_status=updated.status,
        )

    def _client(self, account: str) -> PagerDutyApi:
        client = self.clients.get(account)
        if client is None:
            raise PagerDutyError(
                f"unknown PagerDuty account '{account}' (configured: "
                f"{sorted(self.clients) or 'none'}); add it to pagerduty_accounts in the config "
                "or fix the rule that names it",
                status_code=None,
            )
        return client

    @staticmethod
    def _skipped(command: UpdateIncident, reason: str) -> WriteSkipped:
        _log.info("write_skipped", reason=reason)
        return WriteSkipped(
            command_id=command.command_id, correlation_id=command.correlation_id, reason=reason
        )
