"""Jira Server/DC REST v2 + webhooks simulator."""

from pdjira_simulators.jira.app import create_app
from pdjira_simulators.jira.settings import JiraSettings

__all__ = ["JiraSettings", "create_app"]
