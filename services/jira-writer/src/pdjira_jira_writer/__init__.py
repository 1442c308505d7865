"""pdjira jira-writer: the only code that writes to Jira Server/DC.

It applies ``commands.jira.>`` (create issue, transition issue along a workflow path, add
comment) idempotently and convergently, in per-issue lanes, under each instance's rate limit,
and publishes what happened to ``outcomes.jira.<instance>``. It also answers Jira reads for the
other services on ``reads.jira.<instance>.<what>``. Run it with
``python -m pdjira_jira_writer --config FILE``.
"""

__all__: list[str] = []
