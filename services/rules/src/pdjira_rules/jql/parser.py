"""JQL parser and AST: Jira's grammar lives in :mod:`pdjira_jql` (shared with the Jira
simulator, checked against Atlassian's grammar). Re-exported under the names the rules code
has always used."""

from pdjira_jql import *  # noqa: F403 (a re-export: the names are pdjira_jql's)
from pdjira_jql import __all__ as __all__
