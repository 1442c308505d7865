"""The webhook check (I/O): list each target's subscriptions through its writer, plan (pure,
``plan``), repair when asked, and prove the path with a PagerDuty ping that must reach ingest.

Every vendor call is a request to a writer (``reads.pd.<account>.webhooks``,
``reads.jira.<instance>.webhooks``); the ping's arrival is announced by whichever ingest replica
PagerDuty reached, on ``ingest.pings.pd.<account>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any, Literal, TypeVar

import msgspec
from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NoKeysError
from pdjira_common.bus import nats_client
from pdjira_common.config import Config
from pdjira_common.contracts import encode
from pdjira_common.logging import get_logger
from pdjira_common.streams import KV_RULES
from pdjira_common.webhook_admin import (
    JiraWebhook,
    JiraWebhookReply,
    JiraWebhookRequest,
    PdSubscription,
    PdWebhookReply,
    PdWebhookRequest,
    PingReceived,
    jira_webhooks_subject,
    pd_ping_subject,
    pd_webhooks_subject,
)

from pdjira_ingest.webhook_check.kv import WebhookState
from pdjira_ingest.webhook_check.plan import (
    Action,
    Finding,
    desired_jira,
    desired_pd,
    jira_repaired,
    pd_repaired,
    plan_jira,
    plan_pd,
    rule_projects,
    shown_url,
)

__all__ = [
    "ActionResult",
    "CheckFailed",
    "PingResult",
    "Report",
    "TargetReport",
    "WebhookCheck",
]

T = TypeVar("T")
_log = get_logger(__name__)
WRITER_TIMEOUT = 20.0


class CheckFailed(Exception):
    """A writer did not answer, or answered with an error; the message says which."""


class ActionResult(msgspec.Struct, frozen=True, kw_only=True):
    op: str
    reason: str
    id: str = ""
    done: bool = False
    error: str | None = None


class PingResult(msgspec.Struct, frozen=True, kw_only=True):
    subscription_id: str
    received: bool
    round_trip_ms: float | None = None
    replica: str = ""  # the ingest replica PagerDuty reached
    message: str


class TargetReport(msgspec.Struct, frozen=True, kw_only=True):
    system: Literal["pagerduty", "jira"]
    target: str
    url: str  # the URL the subscription should send to (a token hidden)
    ok: bool
    findings: tuple[Finding, ...] = ()
    actions: tuple[ActionResult, ...] = ()
    after_fix: tuple[Finding, ...] = ()  # what a new look found after the repairs
    ping: PingResult | None = None
    last_webhook_at: str | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None


class Report(msgspec.Struct, frozen=True, kw_only=True):
    fix: bool
    ok: bool
    targets: tuple[TargetReport, ...]


def _problems(findings: Sequence[Finding]) -> bool:
    return any(f.problem for f in findings)


class WebhookCheck:
    def __init__(self, config: Config, broker: NatsBroker, state: WebhookState) -> None:
        self.config = config
        self.broker = broker
        self.state = state

    async def run(
        self,
        *,
        fix: bool,
        accounts: Sequence[str] | None = None,
        instances: Sequence[str] | None = None,
    ) -> Report:
        """Every configured account and instance, or only those named."""
        narrowed = accounts is not None or instances is not None
        account_ids = [
            a.id for a in self.config.pagerduty_accounts if not narrowed or a.id in (accounts or ())
        ]
        instance_ids = [
            j.id for j in self.config.jira_instances if not narrowed or j.id in (instances or ())
        ]
        stored = await self._stored_rules() if instance_ids else []
        targets = [
            *[await self._guarded("pagerduty", a, self._pd(a, fix)) for a in account_ids],
            *[await self._guarded("jira", i, self._jira(i, fix, stored)) for i in instance_ids],
        ]
        return Report(fix=fix, ok=all(t.ok for t in targets), targets=tuple(targets))

    async def _guarded(self, system: Literal["pagerduty", "jira"], target: str, work: Any) -> Any:
        try:
            result: TargetReport = await work
        except CheckFailed as exc:
            return TargetReport(system=system, target=target, url="", ok=False, error=str(exc))
        return result

    # ------------------------------------------------------------------ PagerDuty

    async def _pd_ask(self, request: PdWebhookRequest) -> PdWebhookReply:
        return await self._ask(pd_webhooks_subject(request.account), request, PdWebhookReply)

    async def _pd(self, account: str, fix: bool) -> TargetReport:
        desired = desired_pd(self.config, account)
        existing = (await self._pd_ask(PdWebhookRequest(account=account, op="list"))).subscriptions
        plan = plan_pd(desired, existing)
        results: list[ActionResult] = []
        after: tuple[Finding, ...] = ()
        current = plan
        if fix and plan.actions:
            by_id = {s.id: s for s in existing}
            for action in plan.actions:
                results.append(await self._pd_apply(account, action, desired, by_id))
            listed = await self._pd_ask(PdWebhookRequest(account=account, op="list"))
            current = plan_pd(desired, listed.subscriptions)
            after = current.findings
        ping: PingResult | None = None
        if current.ok and current.primary:
            ping = await self._ping(account, current.primary)
        seen = await self.state.last_seen("pd", account)
        ok = current.ok and all(r.done for r in results) and (ping is not None and ping.received)
        return TargetReport(
            system="pagerduty",
            target=account,
            url=desired.url,
            ok=ok,
            findings=plan.findings,
            actions=tuple(results),
            after_fix=after,
            ping=ping,
            last_webhook_at=seen.at if seen else None,
        )

    async def _pd_apply(
        self,
        account: str,
        action: Action,
        desired: PdSubscription,
        by_id: dict[str, PdSubscription],
    ) -> ActionResult:
        result = ActionResult(op=action.op, reason=action.reason, id=action.id)
        try:
            if action.op == "create":
                reply = await self._pd_ask(
                    PdWebhookRequest(account=account, op="create", subscription=desired)
                )
                created = reply.subscriptions[0].id if reply.subscriptions else ""
                if not reply.created_secret or not created:
                    return msgspec.structs.replace(
                        result,
                        id=created,
                        error="PagerDuty made the subscription but did not return its signing "
                        "secret; copy it from PagerDuty into "
                        f"pagerduty_accounts[id={account}].webhook_secrets",
                    )
                await self.state.keep_secret(account, created, reply.created_secret)
                _log.info("webhook_subscription_created", account=account, id=created)
                return msgspec.structs.replace(result, id=created, done=True)
            if action.op == "update":
                body = pd_repaired(desired, by_id[action.id])
                await self._pd_ask(
                    PdWebhookRequest(
                        account=account, op="update", subscription_id=action.id, subscription=body
                    )
                )
            else:
                await self._pd_ask(
                    PdWebhookRequest(account=account, op=action.op, subscription_id=action.id)
                )
                if action.op == "delete":
                    await self.state.forget_secret(account, action.id)
        except CheckFailed as exc:
            return msgspec.structs.replace(result, error=str(exc))
        _log.info("webhook_subscription_repaired", account=account, id=action.id, op=action.op)
        return msgspec.structs.replace(result, done=True)

    async def _ping(self, account: str, subscription_id: str) -> PingResult:
        """Ask PagerDuty to ping the subscription; wait for ingest to say it got it."""
        timeout = self.config.ingest.ping_timeout
        nc = nats_client(self.broker)
        arrived: asyncio.Future[PingReceived] = asyncio.get_running_loop().create_future()

        async def heard(message: Any) -> None:
            try:
                ping = msgspec.json.decode(message.data, type=PingReceived)
            except (msgspec.DecodeError, msgspec.ValidationError):
                return
            if ping.subscription_id in (None, subscription_id) and not arrived.done():
                arrived.set_result(ping)

        subscription = await nc.subscribe(pd_ping_subject(account), cb=heard)
        try:
            await nc.flush()
            started = time.perf_counter()
            try:
                await self._pd_ask(
                    PdWebhookRequest(account=account, op="ping", subscription_id=subscription_id)
                )
            except CheckFailed as exc:
                return PingResult(
                    subscription_id=subscription_id,
                    received=False,
                    message=f"the ping could not be sent: {exc}",
                )
            try:
                ping = await asyncio.wait_for(arrived, timeout)
            except TimeoutError:
                url = shown_url(desired_pd(self.config, account).url)
                return PingResult(
                    subscription_id=subscription_id,
                    received=False,
                    message=f"PagerDuty says the ping is on its way but ingest never saw it in "
                    f"{timeout:g} s: check that {url} reaches ingest from PagerDuty (DNS, "
                    "firewall, proxy, TLS) and the secret (ingest logs webhook_rejected with "
                    "the reason)",
                )
            elapsed = round((time.perf_counter() - started) * 1000, 1)
            return PingResult(
                subscription_id=subscription_id,
                received=True,
                round_trip_ms=elapsed,
                replica=ping.replica,
                message=f"ping round trip {elapsed:g} ms (PagerDuty -> ingest)",
            )
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    # ------------------------------------------------------------------ Jira

    async def _jira_ask(self, request: JiraWebhookRequest) -> JiraWebhookReply:
        return await self._ask(jira_webhooks_subject(request.instance), request, JiraWebhookReply)

    async def _jira(self, instance: str, fix: bool, stored: list[Any]) -> TargetReport:
        configured = self.config.instance(instance)
        desired = desired_jira(self.config, instance, rule_projects(self.config, instance, stored))
        secret = configured.webhook_secret.reveal() if configured.webhook_secret else None
        signs = secret is not None
        listed = await self._jira_ask(JiraWebhookRequest(instance=instance, op="list"))
        plan = plan_jira(desired, listed.webhooks, listed.apis, signs=signs)
        actions = list(plan.actions)
        if fix and secret and plan.primary and not any(a.op == "update" for a in actions):
            # Jira never shows a webhook's secret: --fix sets it again on ours.
            primary = next(h for h in listed.webhooks if h.id == plan.primary)
            actions.append(
                Action(
                    op="update",
                    id=primary.id,
                    api=primary.api,
                    reason="set the secret again (Jira never shows it)",
                )
            )
        results: list[ActionResult] = []
        after: tuple[Finding, ...] = ()
        current = plan
        if fix and actions:
            by_id = {h.id: h for h in listed.webhooks}
            for action in actions:
                results.append(await self._jira_apply(instance, action, desired, by_id, secret))
            relisted = await self._jira_ask(JiraWebhookRequest(instance=instance, op="list"))
            current = plan_jira(desired, relisted.webhooks, relisted.apis, signs=signs)
            after = current.findings
        seen = await self.state.last_seen("jira", instance)
        notes = [
            "Jira has no ping: nothing but a real webhook proves the path from Jira; "
            + (
                f"the last webhook from this instance reached ingest at {seen.at}"
                if seen
                else "no webhook from this instance has reached ingest yet"
            ),
        ]
        if signs:
            notes.append(
                "Jira never shows a webhook's secret, so a wrong one cannot be seen here; "
                "--fix sets the configured webhook_secret on the webhook"
            )
        ok = current.ok and all(r.done for r in results)
        return TargetReport(
            system="jira",
            target=instance,
            url=shown_url(desired.url),
            ok=ok,
            findings=plan.findings,
            actions=tuple(results),
            after_fix=after,
            last_webhook_at=seen.at if seen else None,
            notes=tuple(notes),
        )

    async def _jira_apply(
        self,
        instance: str,
        action: Action,
        desired: JiraWebhook,
        by_id: dict[str, JiraWebhook],
        secret: str | None,
    ) -> ActionResult:
        result = ActionResult(op=action.op, reason=action.reason, id=action.id)
        try:
            if action.op == "create":
                reply = await self._jira_ask(
                    JiraWebhookRequest(
                        instance=instance,
                        op="create",
                        api=action.api,
                        webhook=desired,
                        secret=secret,
                    )
                )
                created = reply.webhooks[0].id if reply.webhooks else ""
                _log.info("jira_webhook_created", instance=instance, id=created)
                return msgspec.structs.replace(result, id=created, done=True)
            webhook = jira_repaired(desired, by_id[action.id]) if action.op == "update" else None
            await self._jira_ask(
                JiraWebhookRequest(
                    instance=instance,
                    op="update" if action.op == "update" else "delete",
                    webhook_id=action.id,
                    api=action.api,
                    webhook=webhook,
                    secret=secret if webhook is not None else None,
                )
            )
        except CheckFailed as exc:
            return msgspec.structs.replace(result, error=str(exc))
        _log.info("jira_webhook_repaired", instance=instance, id=action.id, op=action.op)
        return msgspec.structs.replace(result, done=True)

    # ------------------------------------------------------------------ plumbing

    async def _stored_rules(self) -> list[Any]:
        """The rules in effect (KV ``pdjira_rules`` values, decoded loosely); none if the
        bucket cannot be read (the config's rules still count)."""
        try:
            kv = await nats_client(self.broker).jetstream().key_value(KV_RULES)
            keys = await kv.keys()
        except (BucketNotFoundError, NoKeysError):
            return []
        except Exception as exc:
            _log.warning("webhook_check_rules_unreadable", error=type(exc).__name__)
            return []
        found: list[Any] = []
        for key in keys:
            with contextlib.suppress(KeyNotFoundError, msgspec.DecodeError):
                entry = await kv.get(key)
                if entry.value:
                    value = msgspec.json.decode(entry.value)
                    if isinstance(value, dict):
                        found.append(value)
        return found

    async def _ask(self, subject: str, message: msgspec.Struct, reply: type[T]) -> T:
        try:
            response = await nats_client(self.broker).request(
                subject, encode(message), timeout=WRITER_TIMEOUT
            )
        except (NoRespondersError, TimeoutError):
            writer = "pd-writer" if subject.startswith("reads.pd.") else "jira-writer"
            raise CheckFailed(
                f"no {writer} answered in {WRITER_TIMEOUT:g} s; is it running?"
            ) from None
        try:
            result: T = msgspec.json.decode(response.data, type=reply)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise CheckFailed(f"bad reply on {subject}: {exc}") from None
        error: Any = getattr(result, "error", None)
        if error:
            raise CheckFailed(str(error))
        return result
