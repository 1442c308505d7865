"""``pdjira webhooks check [--fix]``: ingest compares the registered webhook subscriptions with
what the configuration needs, repairs them through the writers, and proves the path with a
PagerDuty ping (plan: pure; run: I/O; admin: the HTTP API; kv: secrets and last webhooks)."""
