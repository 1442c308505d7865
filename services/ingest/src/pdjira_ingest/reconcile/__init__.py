"""The reconciliation poller: per PagerDuty account and Jira instance, what changed since a
watermark (asked of the writers, so it shares their rate budget) is published as synthetic
events under each change's stable id; JetStream drops those whose webhook came."""

__all__: list[str] = []
