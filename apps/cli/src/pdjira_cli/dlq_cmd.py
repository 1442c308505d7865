"""``pdjira dlq list`` and ``pdjira dlq replay ID|--all``: inspect and replay dead letters.

A dead letter is a message that ran out of retries (or could never be handled), stored in the
DLQ stream with the reason, the attempts and the original message. Replaying publishes the
original back to its subject (a new ``Nats-Msg-Id``, so the stream's dedup window does not drop
it), then removes the letter: fix the cause first, or it comes back.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from nats.js.errors import NotFoundError
from pdjira_common.config import ConfigError
from pdjira_common.dead_letters import list_letters, replay_letters

from pdjira_cli.nats_access import add_nats_options, nats_settings, with_jetstream

__all__ = ["list_letters", "register", "replay_letters"]


def register(commands: Any) -> None:
    dlq = commands.add_parser("dlq", help="list and replay dead-lettered messages")
    sub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    for name, help_text in [
        ("list", "list the dead letters (id, when, subject, attempts, reason)"),
        ("replay", "publish dead letters back to their subjects, then remove them"),
    ]:
        action = sub.add_parser(name, help=help_text)
        add_nats_options(action)
        if name == "replay":
            which = action.add_mutually_exclusive_group(required=True)
            which.add_argument("id", nargs="?", type=int, help="the letter's id (from list)")
            which.add_argument("--all", action="store_true", help="replay every letter")
            action.set_defaults(handler=_replay)
        else:
            action.set_defaults(handler=_list)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _list(args: argparse.Namespace) -> int:
    try:
        letters = asyncio.run(with_jetstream(nats_settings(args), list_letters))
    except (ConfigError, NotFoundError) as exc:
        print(
            f"pdjira dlq list: {exc or 'no DLQ stream: start a pdjira service once'}",
            file=sys.stderr,
        )
        return 2
    if not letters:
        print("no dead letters")
        return 0
    for seq, letter in letters:
        print(
            f"{seq}\t{letter.failed_at}\t{letter.subject}\tattempts={letter.attempts}\t"
            f"correlation={letter.correlation_id or '-'}\t{_one_line(letter.reason)}"
        )
    return 0


def _replay(args: argparse.Namespace) -> int:
    ids = None if args.all else [args.id]
    try:
        lines = asyncio.run(with_jetstream(nats_settings(args), lambda js: replay_letters(js, ids)))
    except (ConfigError, NotFoundError) as exc:
        print(f"pdjira dlq replay: {exc or 'no DLQ stream'}", file=sys.stderr)
        return 2
    for line in lines or ["no dead letters"]:
        print(line)
    return 1 if any("no such dead letter" in line for line in lines) else 0
