"""Ingest's webhook bookkeeping in KV ``pdjira_webhooks``:

- the signing secrets of the PagerDuty subscriptions the check created (PagerDuty shows a
  secret once, at creation): accepted beside the configured ``webhook_secrets``, read again from
  KV when a signature matches none (another replica may have created the subscription), at most
  once per :data:`REFRESH_EVERY` per account so forged deliveries cannot flood KV;
- when each target's last webhook came (written at most once per :data:`SEEN_EVERY` per target
  and replica: the webhook path pays a dictionary lookup).

Secrets are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from datetime import UTC, datetime
from typing import Literal

import msgspec
from nats.js.errors import KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue
from pdjira_common.logging import get_logger
from pdjira_common.subjects import token
from pdjira_common.webhook_admin import PD_SECRET_PREFIX, pd_secret_key, seen_key

__all__ = ["REFRESH_EVERY", "SEEN_EVERY", "Seen", "WebhookState"]

REFRESH_EVERY = 2.0
SEEN_EVERY = 10.0
_log = get_logger(__name__)
System = Literal["pd", "jira"]


class Seen(msgspec.Struct, frozen=True, kw_only=True):
    """KV value of ``seen.<system>.<target>``."""

    at: str  # ISO 8601, UTC
    replica: str = ""


class WebhookState:
    def __init__(self) -> None:
        self.kv: KeyValue | None = None
        self.replica = os.environ.get("PDJIRA_REPLICA_ID", "")
        self._secrets: dict[str, tuple[str, ...]] = {}
        self._refreshed: dict[str, float] = {}
        self._seen_written: dict[tuple[System, str], float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, kv: KeyValue) -> None:
        self.kv = kv

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    # ------------------------------------------------------------------ secrets

    def secrets(self, account: str) -> tuple[str, ...]:
        """The secrets of the check's subscriptions of ``account`` known here."""
        return self._secrets.get(account, ())

    async def refresh(self, account: str) -> bool:
        """Read ``account``'s secrets from KV again (unless done moments ago); True if that
        found any not known before."""
        now = time.monotonic()
        if self.kv is None or now - self._refreshed.get(account, -REFRESH_EVERY) < REFRESH_EVERY:
            return False
        self._refreshed[account] = now
        prefix = f"{PD_SECRET_PREFIX}.{token(account)}."
        found: list[str] = []
        try:
            keys = await self.kv.keys()
        except NoKeysError:
            keys = []
        except Exception as exc:  # KV out of reach: the configured secrets still work
            _log.warning("webhook_secrets_unreadable", account=account, error=type(exc).__name__)
            return False
        for key in keys:
            if not key.startswith(prefix):
                continue
            with contextlib.suppress(KeyNotFoundError):
                entry = await self.kv.get(key)
                if entry.value:
                    found.append(entry.value.decode())
        before = set(self.secrets(account))
        self._secrets[account] = tuple(found)
        return bool(set(found) - before)

    async def keep_secret(self, account: str, subscription_id: str, secret: str) -> None:
        """Store the secret of a subscription just created (KV first: other replicas)."""
        if self.kv is None:
            raise RuntimeError("ingest is not connected to NATS yet")
        await self.kv.put(pd_secret_key(account, subscription_id), secret.encode())
        self._secrets[account] = (*self.secrets(account), secret)

    async def forget_secret(self, account: str, subscription_id: str) -> None:
        if self.kv is not None:
            with contextlib.suppress(KeyNotFoundError):
                await self.kv.delete(pd_secret_key(account, subscription_id))

    # ------------------------------------------------------------------ last webhook seen

    def saw(self, system: System, target: str) -> None:
        """A webhook of ``target`` was accepted: note it in KV now and then (not awaited)."""
        now = time.monotonic()
        key = (system, target)
        if self.kv is None or now - self._seen_written.get(key, -SEEN_EVERY) < SEEN_EVERY:
            return
        self._seen_written[key] = now
        task = asyncio.get_running_loop().create_task(self._write_seen(system, target))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write_seen(self, system: System, target: str) -> None:
        if self.kv is None:
            return
        value = Seen(at=datetime.now(UTC).isoformat(), replica=self.replica)
        try:
            await self.kv.put(seen_key(system, target), msgspec.json.encode(value))
        except Exception as exc:  # bookkeeping only: never the webhook's failure
            _log.warning("webhook_seen_not_written", target=target[:64], error=type(exc).__name__)

    async def last_seen(self, system: System, target: str) -> Seen | None:
        if self.kv is None:
            return None
        try:
            entry = await self.kv.get(seen_key(system, target))
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        try:
            return msgspec.json.decode(entry.value, type=Seen)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
