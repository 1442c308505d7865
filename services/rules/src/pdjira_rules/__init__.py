"""pdjira rules: event + rules + link -> commands, with every decision in the audit trail.

Writes nothing outside NATS; the decisions themselves are pure, made by one engine
(:mod:`pdjira_rules.engine`) for every rule: PagerDuty-style ones and the simple ``rules:``
compiled into them (:mod:`pdjira_rules.simple_rules`).
"""

__all__: list[str] = []
