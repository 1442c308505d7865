"""What the engine decides about one event: the commands to send and a verdict per rule x
configuration item (matched, or skipped and why)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pdjira_common.contracts import Command, RuleVerdict

__all__ = ["ECHO", "Decision"]

# How every skip of an echo of our own write starts (the audit summary looks for it).
ECHO: Final = "echo of our own write"


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What to send, and a verdict for every rule x item considered (in rule order).

    Command ids are deterministic, so a redelivered event yields the same ids and JetStream's
    ``Nats-Msg-Id`` dedup on stream COMMANDS drops the repeat."""

    commands: tuple[Command, ...] = ()
    verdicts: tuple[RuleVerdict, ...] = ()
