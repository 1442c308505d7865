"""pdjira rules: event + rules + link -> commands, with every decision in the audit trail.

Writes nothing outside NATS; the decisions themselves are pure (see :mod:`pdjira_rules.decide`).
"""

__all__: list[str] = []
