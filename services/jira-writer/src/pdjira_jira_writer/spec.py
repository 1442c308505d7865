"""The jira-writer as the writer kernel knows it."""

from __future__ import annotations

from pdjira_common import subjects
from pdjira_writer.spec import Vendor, WriterSpec

__all__ = ["JIRA", "SPEC"]

JIRA = Vendor(
    name="Jira", target="instance", config_key="jira_instances", metric="pdjira_jira_requests"
)
SPEC = WriterSpec(name="jira-writer", commands=subjects.ALL_COMMANDS_JIRA, vendor=JIRA)
