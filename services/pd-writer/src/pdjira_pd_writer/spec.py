"""The pd-writer as the writer kernel knows it."""

from __future__ import annotations

from pdjira_common import subjects
from pdjira_writer.spec import Vendor, WriterSpec

__all__ = ["PAGERDUTY", "SPEC"]

PAGERDUTY = Vendor(
    name="PagerDuty",
    target="account",
    config_key="pagerduty_accounts",
    metric="pdjira_pagerduty_requests",
)
SPEC = WriterSpec(name="pd-writer", commands=subjects.ALL_COMMANDS_PD, vendor=PAGERDUTY)
