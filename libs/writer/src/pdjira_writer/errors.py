"""Failures of a vendor call, in the words every writer uses."""

from __future__ import annotations

import httpx
from pdjira_common.retry import Retryable
from pdjira_common.secrets import redact

__all__ = ["Refused", "transport_failure", "unknown_target"]


class Refused(Exception):
    """The vendor refused, or the command cannot apply as it is (an unknown target, a name the
    vendor does not have): repeating will not help. The command fails at once, and ``reason``
    says what to fix; each vendor's error (``JiraError``, ``PagerDutyError``) is one."""

    def __init__(
        self, reason: str, *, status_code: int | None = None, code: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code  # the vendor's HTTP status; None when we refused
        self.code = code  # the vendor's own error code, if it has them


def transport_failure(exc: httpx.HTTPError, *, what: str, target: str) -> Retryable:
    """Timeouts and connection failures: the vendor may be down or slow, so try again later.
    ``target`` is the vendor's label of the target (``Jira instance 'dc1'``)."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Retryable(redact(f"{what} on {target} {kind}: {detail}"))


def unknown_target(target: str, configured: object) -> str:
    """Why a command or read names a target that is not configured (``target``: its label)."""
    return f"unknown {target} (configured: {configured})"
