"""``pdjira doctor``: is everything pdjira needs from Jira and PagerDuty in place?

Per Jira instance: the base URL, the credentials and the Jira version (asked of its jira-writer);
per PagerDuty account: the token and the ``From`` user (asked of its pd-writer); per project the
rules in effect use (config and API rules, asked of the rules service): the permissions their
actions need and, for a Jira Service Management project, that the integration user is one of
its agents. One line per check, ``ok`` or ``FAIL`` with what to change.

Exit status: 0 all ok, 1 a check failed, 2 the config or the command line is wrong, 3 a
service (NATS, a writer, the rules service) could not be reached, so some checks did not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import yaml
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from pdjira_common.config import Config, ConfigError, load_config
from pdjira_common.doctor import (
    JIRA_HEALTH,
    PD_HEALTH,
    JiraHealthRead,
    JiraHealthReply,
    PdHealthRead,
    PdHealthReply,
)
from pdjira_common.nats_connect import connect_options
from pdjira_common.requests import jira_read_subject, pd_read_subject
from pdjira_common.urls import redact_url

from pdjira_cli.admin_client import CONFIG_HELP, RULES, AdminError, config_path, connect

__all__ = ["Check", "register", "verdict"]

OK, FAILED, CONFIG, UNREACHABLE = 0, 1, 2, 3
_READ_TIMEOUT = 30.0  # a health read makes several calls to the vendor
_READ_ONLY_ROLES = frozenset(
    {"read_only_user", "read_only_limited_user", "observer", "restricted_access"}
)
R = TypeVar("R", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class Check:
    target: str  # "jira dc1", "pagerduty acme", "rules", "jira dc1 OPS"
    check: str  # "base URL", "credentials", "TRANSITION_ISSUES", ...
    ok: bool
    message: str
    unreachable: bool = False  # the check could not run: a service did not answer
    misconfigured: bool = False  # the check could not run: the config lacks what it needs

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.target}: {self.check}: {self.message}"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor", help="check credentials, versions and permissions in Jira and PagerDuty"
    )
    parser.add_argument("--config", help=CONFIG_HELP)
    parser.add_argument("--url", help="rules service URL (default: from listen.rules)")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(handler=_doctor)


def verdict(checks: list[Check]) -> int:
    """3 when a service could not be reached, else 2 when the config lacks what a check needs,
    else 1 when a check failed, else 0."""
    if any(c.unreachable for c in checks):
        return UNREACHABLE
    if any(c.misconfigured for c in checks):
        return CONFIG
    return FAILED if any(not c.ok for c in checks) else OK


def _doctor(args: argparse.Namespace) -> int:
    try:
        path = config_path(args)
        config = load_config(path)
    except (AdminError, ConfigError) as exc:
        print(f"pdjira: {exc}", file=sys.stderr)
        return CONFIG
    args.config = path  # the rules checks connect with it too
    checks = _base_urls(config, Path(path))
    checks += asyncio.run(_writer_checks(config))
    checks += _rules_checks(args)
    code = verdict(checks)
    if args.json:
        print(json.dumps({"checks": [asdict(c) for c in checks], "exit": code}, indent=2))
    else:
        for check in checks:
            print(check.line())
        failed = sum(not c.ok for c in checks)
        summary = f"{failed} of {len(checks)} checks failed" if failed else "all checks ok"
        print(summary, file=sys.stderr if failed else sys.stdout)
    return code


# ------------------------------------------------------------------ config


def _raw_base_urls(path: Path) -> dict[str, str]:
    """Each instance's ``base_url`` as written in the file (to tell a missing scheme)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    instances = raw.get("jira_instances") if isinstance(raw, dict) else None
    return {
        str(i.get("id")): str(i.get("base_url"))
        for i in (instances if isinstance(instances, list) else [])
        if isinstance(i, dict)
    }


def _base_urls(config: Config, path: Path) -> list[Check]:
    written = _raw_base_urls(path)
    checks = []
    for instance in config.jira_instances:
        url = redact_url(instance.base_url)
        raw = written.get(instance.id, "")
        message = url
        if raw and "://" not in raw and not raw.startswith("${"):
            message += (
                f" (no scheme in the config: '{raw}' means http://; write https:// if "
                "Jira is served over TLS)"
            )
        checks.append(Check(f"jira {instance.id}", "base URL", True, message))
    return checks


# ------------------------------------------------------------------ writers (NATS)


async def _writer_checks(config: Config) -> list[Check]:
    nc = NATS()
    try:
        await asyncio.wait_for(
            nc.connect(
                **connect_options(config.nats),
                connect_timeout=2,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
            ),
            timeout=5,
        )
    except Exception as exc:
        message = (
            f"cannot connect to NATS at {redact_url(config.nats.url)} ({type(exc).__name__}); "
            "is nats-server running, and are nats.url and its login right in the config?"
        )
        return [Check("nats", "connection", False, message, unreachable=True)]
    try:
        checks: list[Check] = []
        for instance in config.jira_instances:
            checks += await _jira(nc, instance.id)
        for account in config.pagerduty_accounts:
            checks += await _pd(nc, account.id, account.from_email)
        return checks
    finally:
        await nc.close()


async def _ask(nc: NATS, subject: str, message: msgspec.Struct, reply: type[R]) -> R | str:
    """The writer's reply, or why there is none (it is not running or too slow)."""
    try:
        answer = await nc.request(subject, msgspec.json.encode(message), timeout=_READ_TIMEOUT)
    except (NoRespondersError, TimeoutError):
        return f"nobody answered {subject} within {_READ_TIMEOUT:g} s"
    try:
        return msgspec.json.decode(answer.data, type=reply)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return f"a bad reply on {subject} ({exc}); are the writers and this CLI the same version?"


async def _jira(nc: NATS, instance: str) -> list[Check]:
    target = f"jira {instance}"
    subject = jira_read_subject(instance, JIRA_HEALTH)
    reply = await _ask(nc, subject, JiraHealthRead(instance=instance), JiraHealthReply)
    if isinstance(reply, str):
        why = f"{reply}; is the jira-writer running (pdjira dev up, or its deployment)?"
        return [Check(target, "credentials", False, why, unreachable=True)]
    if reply.error is not None:
        return [Check(target, "credentials", False, reply.error)]
    version = f"Jira {reply.version or '?'} ({reply.deployment or 'unknown deployment'})"
    return [
        Check(target, "credentials", True, f"logged in as '{reply.user}'"),
        Check(target, "version", True, version),
    ]


async def _pd(nc: NATS, account: str, from_email: str) -> list[Check]:
    target = f"pagerduty {account}"
    subject = pd_read_subject(account, PD_HEALTH)
    ask = PdHealthRead(account=account, from_email=from_email)
    reply = await _ask(nc, subject, ask, PdHealthReply)
    if isinstance(reply, str):
        why = f"{reply}; is the pd-writer running (pdjira dev up, or its deployment)?"
        return [Check(target, "token", False, why, unreachable=True)]
    if reply.error is not None or not reply.token_ok:
        return [Check(target, "token", False, reply.error or "the token was not accepted")]
    kind = {
        "user": "a user's token: changes are made as that user",
        "account": "an account token: writes are made as the From user",
    }.get(reply.token_kind or "", "accepted")
    checks = [
        Check(
            target,
            "token",
            True,
            f"{kind} (a read-only key is only found out by a write: if writes fail with "
            "403, give the integration a full-access key)",
        )
    ]
    if reply.from_user_id is None:
        checks.append(
            Check(
                target,
                "From user",
                False,
                f"no PagerDuty user has the e-mail {from_email!r} (pagerduty_accounts[].from_email)"
                ": set it to the login e-mail of the user pdjira acts as",
            )
        )
    elif (reply.from_role or "") in _READ_ONLY_ROLES:
        checks.append(
            Check(
                target,
                "From user",
                False,
                f"{from_email} ({reply.from_user_id}) has the role '{reply.from_role}', which "
                "cannot change incidents: give the user a responder (or higher) role",
            )
        )
    else:
        role = f", role {reply.from_role}" if reply.from_role else ""
        checks.append(
            Check(target, "From user", True, f"{from_email} ({reply.from_user_id}{role})")
        )
    return checks


# ------------------------------------------------------------------ rules (HTTP)


def _rules_checks(args: argparse.Namespace) -> list[Check]:
    try:
        _, client = connect(RULES, args, timeout=120.0)
    except AdminError as exc:
        return [Check("rules", "permissions", False, str(exc), misconfigured=True)]
    try:
        with client:
            response = client.get("/rules/permissions")
    except httpx.TransportError as exc:
        message = (
            f"cannot reach the rules service ({exc}); is it running, and is listen.rules "
            "(or --url) right?"
        )
        return [Check("rules", "permissions", False, message, unreachable=True)]
    if not response.is_success:
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text[:500]
        return [
            Check(
                "rules",
                "permissions",
                False,
                f"the rules service answered {response.status_code}: {message}",
                unreachable=response.status_code == 503,
            )
        ]
    found = response.json().get("checks") or []
    if not found:
        return [Check("rules", "permissions", True, "no enabled rule acts on Jira")]
    return [
        Check(
            f"jira {c['instance']} {c['project']}",
            str(c["check"]),
            bool(c["ok"]),
            str(c["message"]),
        )
        for c in found
    ]
