"""Who a writer service is: its name, the commands it applies, the vendor it writes to."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Vendor", "WriterSpec"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Vendor:
    """How an external system's targets are named in messages, metrics and the config file."""

    name: str  # "Jira"
    target: str  # what one configured target is: "instance"
    config_key: str  # where the targets are configured: "jira_instances"
    metric: str  # the counter of requests to it: "pdjira_jira_requests"

    def label(self, target_id: str) -> str:
        """``Jira instance 'dc1'``."""
        return f"{self.name} {self.target} '{target_id}'"


@dataclass(frozen=True, slots=True, kw_only=True)
class WriterSpec:
    """``name`` is the service's name in logs, its durable consumer and the queue group of its
    reads, and (with '_') its listener in the config; ``commands`` the subjects it applies."""

    name: str  # "jira-writer"
    commands: str  # "commands.jira.>"
    vendor: Vendor

    @property
    def module(self) -> str:
        """``pdjira_jira_writer``: what ``python -m`` runs."""
        return "pdjira_" + self.name.replace("-", "_")
