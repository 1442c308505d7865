"""pdjira jira-writer: the only code that writes to Jira Server/DC.

It applies ``commands.jira.>`` (create issue, transition issue) idempotently and convergently and
publishes what happened to ``outcomes.jira.<instance>``. Run it with
``python -m pdjira_jira_writer --config FILE``.
"""

__all__: list[str] = []
