"""pdjira mapping: the single writer of the link registry (incident <-> issue, note <-> comment
pairs, last written state), the user registry (manual links, e-mail, fallback) and echo marks.

It records what outcomes announce into KV buckets, answers lookups over NATS request/reply and
serves an admin HTTP API (bearer token) under /admin/v1 for ``pdjira users`` / ``pdjira links``.
Run it with ``python -m pdjira_mapping --config FILE``.
"""

__all__: list[str] = []
