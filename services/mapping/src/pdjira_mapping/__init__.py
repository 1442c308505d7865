"""pdjira mapping: the single writer of the link registry (incident <-> issue).

It records links from ``IssueLinked`` outcomes into a KV bucket and answers lookups over NATS
request/reply. Run it with ``python -m pdjira_mapping --config FILE``.
"""

__all__: list[str] = []
