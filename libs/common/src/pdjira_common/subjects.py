"""Subject names. The only place a subject string is built.

Every value that becomes a subject token, or a token of a KV key (the mapping, writer and rules
buckets build theirs with :func:`token` too), goes through :func:`token`: whatever a webhook or a
vendor sends, the token is at most :data:`MAX_TOKEN` characters of ``[A-Za-z0-9_=-]``. A subject
longer than the server's control line (4096 bytes) makes nats-server close the connection, and a
character like ``.``, ``*``, ``>`` or a space would split or widen a subject; both are ruled out
here. The original value always stays in the message body.
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "ALL_COMMANDS_JIRA",
    "ALL_COMMANDS_PD",
    "ALL_EVENTS",
    "ALL_OUTCOMES",
    "LINK_LOOKUP",
    "MAX_ID",
    "MAX_MSG_ID",
    "MAX_TOKEN",
    "audit",
    "command_jira",
    "command_pd",
    "dlq",
    "event_jira",
    "event_pd",
    "id_problem",
    "msg_id",
    "outcome",
    "stored_filter",
    "token",
    "unpartitioned",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")
_SAFE = re.compile(r"[A-Za-z0-9_\-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # would break a header line
MAX_TOKEN = 64  # characters of one token: ids of both vendors are far shorter
_PREFIX = 40  # characters of a long or altered value kept readable before its digest
_DIGEST = 16  # hex characters of sha256: 64 bits, distinct ids stay distinct
MAX_MSG_ID = 200  # characters of a Nats-Msg-Id (JetStream dedup key)
# An entity id (incident, issue, key) as the vendors make them: PagerDuty's are alphanumerics
# and UUIDs, Jira's numbers and keys like ABC-123. Ingest refuses anything else with a 400;
# rules dead-letters an event that carries one anyway (published around ingest).
MAX_ID = 128

ALL_EVENTS = "events.>"
ALL_COMMANDS_JIRA = "commands.jira.>"
ALL_COMMANDS_PD = "commands.pd.>"
ALL_OUTCOMES = "outcomes.>"
LINK_LOOKUP = "mapping.links.lookup"


def id_problem(value: str) -> str | None:
    """What makes ``value`` no entity id (too long, empty, other characters), or None."""
    if len(value) > MAX_ID:
        return f"is {len(value)} characters long; an id has at most {MAX_ID}"
    if not _SAFE.fullmatch(value):
        return "has characters an id cannot have; an id is letters, digits, '-' and '_' only"
    return None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST]


def token(value: str) -> str:
    """``value`` as one subject token or KV key token, bounded and safe.

    An ordinary id (1 to :data:`MAX_TOKEN` characters of ``[A-Za-z0-9_-]``) is its own token:
    the subjects and keys of existing data do not change. Any other value (too long, empty, or
    with a character that had to be replaced) becomes a readable prefix of its safe characters,
    ``=``, and 16 hex digits of its sha256: the same value always gives the same token, two
    values give two tokens (``a.b`` and ``a_b`` no longer collide), and since an ordinary id
    never contains ``=``, no id can take the token of an altered one. ``=`` is allowed in
    subjects and in KV keys (``[-/_=.a-zA-Z0-9]``)."""
    if len(value) <= MAX_TOKEN and _SAFE.fullmatch(value):
        return value
    return f"{_UNSAFE.sub('_', value[:_PREFIX])}={_digest(value)}"


def msg_id(value: str) -> str:
    """A ``Nats-Msg-Id`` for ``value``: itself up to :data:`MAX_MSG_ID` characters, else a
    readable prefix and a digest of the whole (the same value always dedupes the same)."""
    if len(value) <= MAX_MSG_ID and not _CONTROL.search(value):
        return value
    return f"{_CONTROL.sub('_', value[:_PREFIX])}={_digest(value)}"


def unpartitioned(subject: str) -> str:
    """A stored subject without the partition the stream added (``commands.jira.5.dc1.Q1``
    -> ``commands.jira.dc1.Q1``): the subject as it was published."""
    tokens = subject.split(".")
    if len(tokens) == 5 and tokens[0] in ("events", "commands") and tokens[2].isdigit():
        del tokens[2]
    return ".".join(tokens)


def stored_filter(subject: str) -> str:
    """The filter matching what the stream stored for a published entity subject, whatever its
    partition: ``events.pd.acme.Q1`` -> ``events.pd.*.acme.Q1``."""
    tokens = subject.split(".")
    if len(tokens) == 4 and tokens[0] in ("events", "commands"):
        tokens.insert(2, "*")
    return ".".join(tokens)


def event_pd(account: str, incident_id: str) -> str:
    return f"events.pd.{token(account)}.{token(incident_id)}"


def event_jira(instance: str, issue_id: str) -> str:
    return f"events.jira.{token(instance)}.{token(issue_id)}"


def command_jira(instance: str, entity: str) -> str:
    return f"commands.jira.{token(instance)}.{token(entity)}"


def command_pd(account: str, entity: str) -> str:
    return f"commands.pd.{token(account)}.{token(entity)}"


def outcome(system: str, target: str) -> str:
    return f"outcomes.{token(system)}.{token(target)}"


def audit(correlation_id: str) -> str:
    return f"audit.{token(correlation_id)}"


def dlq(stream: str, consumer: str) -> str:
    return f"dlq.{token(stream)}.{token(consumer)}"
