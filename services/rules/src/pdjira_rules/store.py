"""The rules in effect: KV bucket ``pdjira_rules`` (key: rule id, value: StoredRule JSON),
seeded from the config at start and watched, so every rules replica follows every write
(admin API, ``pdjira rules import``, another replica's seeding) within moments.

Writes use compare-and-set on the key's revision. A replica applies its own writes at once
(read-your-writes for the admin API) and the watcher's copy only when it is newer, so an old
update delivered late never undoes a newer one.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Final

import msgspec
from nats.js.errors import APIError, KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue
from pdjira_common.logging import get_logger

from pdjira_rules.rule_model import PdjiraRule, StoredRule

__all__ = ["OpenBucket", "RuleConflict", "RuleStore", "new_rule_id", "order_key"]

OpenBucket = Callable[[], Awaitable[KeyValue]]
_log = get_logger(__name__)
_decoder: Final = msgspec.json.Decoder(StoredRule)
_encoder: Final = msgspec.json.Encoder()
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DELETED: Final = ("DEL", "PURGE")


class RuleConflict(Exception):
    """The rule changed under us too often in a row (another writer keeps winning)."""


def new_rule_id() -> str:
    """An id for a rule created over the API, PagerDuty-like: ``R`` + 13 characters."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "R" + "".join(secrets.choice(alphabet) for _ in range(13))


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_SECTIONS: Final = {"rules": 0, "pagerduty_rules": 1}


def order_key(rule: StoredRule) -> tuple[int, int, datetime, str]:
    """Config rules first, in the file's order (the simple ``rules:``, then
    ``pagerduty_rules:``); then the others by created_at, else updated_at, else 1970, and id.
    The order decides which rule acts first (one issue per incident...)."""
    if rule.source == "config" and rule.place is not None:
        return _SECTIONS[rule.place.section], rule.place.index, _EPOCH, rule.id
    created = rule.wrapped.rule.created_at
    if created is not None:
        return len(_SECTIONS), 0, _aware(created), rule.id
    try:
        return len(_SECTIONS), 0, _aware(datetime.fromisoformat(rule.updated_at)), rule.id
    except ValueError:
        return len(_SECTIONS), 0, _EPOCH, rule.id


def with_created_at(wrapped: PdjiraRule, created_at: datetime | None) -> PdjiraRule:
    rule = msgspec.structs.replace(wrapped.rule, created_at=created_at, id=None)
    return msgspec.structs.replace(wrapped, rule=rule)


class RuleStore:
    """``current()`` for the decision code; ``get/create/replace/delete`` for the admin API."""

    def __init__(self, open_bucket: OpenBucket, config_rules: Sequence[StoredRule] = ()) -> None:
        self._open_bucket = open_bucket
        self._config_rules = tuple(config_rules)
        self._kv: KeyValue | None = None
        self._rules: dict[str, StoredRule] = {}
        self._revisions: dict[str, int] = {}  # last revision applied per key (deletes too)
        self._ordered: tuple[StoredRule, ...] | None = ()
        self._task: asyncio.Task[None] | None = None
        self._loaded = asyncio.Event()
        self._watcher: KeyValue.KeyWatcher | None = None

    # ------------------------------------------------------------------ reading

    def current(self) -> tuple[StoredRule, ...]:
        """Every rule in effect, ordered by (created_at or updated_at, id)."""
        if self._ordered is None:
            self._ordered = tuple(sorted(self._rules.values(), key=order_key))
        return self._ordered

    def get(self, rule_id: str) -> StoredRule | None:
        return self._rules.get(rule_id)

    def __len__(self) -> int:
        return len(self._rules)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, timeout: float = 30.0) -> None:
        """Seed the config rules, load everything and keep following the bucket."""
        kv = await self._bucket()
        await self._seed(kv)
        self._watcher = await kv.watchall()
        self._task = asyncio.create_task(self._follow(self._watcher), name="rules-follow")
        waiting = asyncio.create_task(self._loaded.wait())
        done, _ = await asyncio.wait(
            {waiting, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if waiting not in done:
            waiting.cancel()
            if self._task in done:
                self._task.result()  # the watcher died: raise its error
            raise TimeoutError(f"the rules bucket did not load within {timeout} s")
        _log.info("rules_loaded", rules=len(self._rules))

    async def stop(self) -> None:
        """Stop following the bucket (bounded: never holds up the service's shutdown)."""
        watcher, self._watcher = self._watcher, None
        task, self._task = self._task, None
        if watcher is not None:
            # Ends the watcher's iteration, so the follow task returns by itself.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(watcher.stop(), 2.0)  # type: ignore[no-untyped-call]
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=2.0)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=2.0)

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self._open_bucket()
        return self._kv

    async def _follow(self, watcher: KeyValue.KeyWatcher) -> None:
        async for entry in watcher:
            if entry is None:
                self._loaded.set()  # everything stored before the watch has been seen
                continue
            try:
                self._apply_entry(entry)
            except Exception as exc:  # never let one bad value stop the watcher
                _log.warning("rule_entry_failed", key=entry.key, reason=str(exc))

    def _apply_entry(self, entry: KeyValue.Entry) -> None:
        key, revision = entry.key, entry.revision or 0
        if entry.operation in _DELETED or not entry.value:
            self._apply(key, revision, None)
            return
        try:
            rule = _decoder.decode(entry.value)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # Skipped: a value that is not a rule is not in effect (the old one neither).
            _log.warning("rule_undecodable", key=key, revision=revision, reason=str(exc))
            self._apply(key, revision, None)
            return
        if rule.id != key:
            rule = msgspec.structs.replace(rule, id=key)
        self._apply(key, revision, rule)

    def _apply(self, key: str, revision: int, rule: StoredRule | None) -> None:
        if revision <= self._revisions.get(key, 0):
            return  # already have this or a newer state (our own write, applied at once)
        self._revisions[key] = revision
        if rule is None:
            if self._rules.pop(key, None) is not None:
                _log.info("rule_removed", rule_id=key, revision=revision)
        else:
            self._rules[key] = rule
            _log.info("rule_applied", rule_id=key, name=rule.name, revision=revision)
        self._ordered = None

    # ------------------------------------------------------------------ seeding

    async def _seed(self, kv: KeyValue) -> None:
        """Config rules: put when absent or different; delete config rules gone from the file.

        Several replicas may seed at once: a lost compare-and-set means another one wrote the
        same rule, so it is not an error.
        """
        wanted = {rule.id for rule in self._config_rules}
        for rule in self._config_rules:
            current = await self._read(kv, rule.id)
            if current is None:
                stamped = with_created_at(
                    rule.wrapped, rule.wrapped.rule.created_at or datetime.now(UTC)
                )
                value = msgspec.structs.replace(rule, wrapped=stamped, updated_at=now_iso())
                with contextlib.suppress(KeyWrongLastSequenceError):
                    await kv.create(rule.id, _encoder.encode(value))
                    _log.info("config_rule_seeded", rule_id=rule.id, name=rule.name)
                continue
            existing, revision = current
            created = rule.wrapped.rule.created_at or existing.wrapped.rule.created_at
            desired = with_created_at(rule.wrapped, created)
            if (
                existing.source == "config"
                and existing.wrapped == desired
                and existing.place == rule.place
            ):
                continue
            value = msgspec.structs.replace(rule, wrapped=desired, updated_at=now_iso())
            with contextlib.suppress(KeyWrongLastSequenceError):
                await kv.update(rule.id, _encoder.encode(value), last=revision)
                _log.info("config_rule_updated", rule_id=rule.id, name=rule.name)
        try:
            keys = await kv.keys()
        except NoKeysError:
            keys = []
        for key in keys:
            if key in wanted:
                continue
            found = await self._read(kv, key)
            if found is None or found[0].source != "config":
                continue
            with contextlib.suppress(KeyWrongLastSequenceError):
                await self._delete(kv, key, found[1])
                _log.info("config_rule_removed", rule_id=key, name=found[0].name)

    async def _read(self, kv: KeyValue, key: str) -> tuple[StoredRule, int] | None:
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:  # KeyDeletedError too
            return None
        if not entry.value:
            return None
        try:
            return _decoder.decode(entry.value), entry.revision or 0
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            _log.warning("rule_undecodable", key=key, reason=str(exc))
            return None

    @staticmethod
    async def _delete(kv: KeyValue, key: str, revision: int) -> int:
        """Delete marker with compare-and-set; the marker's revision (kv.delete hides it)."""
        try:
            ack = await kv._js.publish(
                f"{kv._pre}{key}",
                b"",
                headers={
                    "KV-Operation": "DEL",
                    "Nats-Expected-Last-Subject-Sequence": str(revision),
                },
            )
        except APIError as exc:
            if exc.err_code in (10071, 10164):  # as KeyValue.update reports it
                raise KeyWrongLastSequenceError(description=exc.description) from exc
            raise
        seq: int = ack.seq
        return seq

    # ------------------------------------------------------------------ writing

    async def create(self, wrapped: PdjiraRule) -> StoredRule:
        """A new API rule with a fresh id and ``created_at`` now."""
        kv = await self._bucket()
        while True:
            rule_id = new_rule_id()
            stored = StoredRule(
                id=rule_id,
                source="api",
                wrapped=with_created_at(wrapped, datetime.now(UTC)),
                updated_at=now_iso(),
            )
            try:
                revision = await kv.create(rule_id, _encoder.encode(stored))
            except KeyWrongLastSequenceError:
                continue  # the id was taken (practically never): draw another
            self._apply(rule_id, revision, stored)
            return stored

    async def replace(self, rule_id: str, wrapped: PdjiraRule) -> StoredRule | None:
        """Replace rule ``rule_id`` (kept: its created_at); None when there is no such rule.

        The rule becomes an API rule: removing it from the config no longer deletes it.
        """
        kv = await self._bucket()
        for _ in range(5):
            found = await self._read(kv, rule_id)
            if found is None:
                return None
            existing, revision = found
            stored = StoredRule(
                id=rule_id,
                source="api",
                wrapped=with_created_at(wrapped, existing.wrapped.rule.created_at),
                updated_at=now_iso(),
            )
            try:
                new_revision = await kv.update(rule_id, _encoder.encode(stored), last=revision)
            except KeyWrongLastSequenceError:
                continue
            self._apply(rule_id, new_revision, stored)
            return stored
        raise RuleConflict(f"rule {rule_id} kept changing while it was replaced; try again")

    async def delete(self, rule_id: str) -> StoredRule | None:
        """Delete rule ``rule_id``; the rule deleted, or None when there was none."""
        kv = await self._bucket()
        for _ in range(5):
            found = await self._read(kv, rule_id)
            if found is None:
                return None
            existing, revision = found
            try:
                marker = await self._delete(kv, rule_id, revision)
            except KeyWrongLastSequenceError:
                continue
            self._apply(rule_id, marker, None)
            return existing
        raise RuleConflict(f"rule {rule_id} kept changing while it was deleted; try again")
