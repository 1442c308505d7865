"""One poller per target among ingest replicas: a key in KV ``pdjira_leases`` (TTL
``LEASE_TTL``) holds the holder's id; the holder renews it with CAS on its revision. A holder
that cannot renew stops polling; once the key expired, another replica creates it."""

from __future__ import annotations

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pdjira_common.logging import get_logger

__all__ = ["Lease"]

_log = get_logger(__name__)


class Lease:
    def __init__(self, kv: KeyValue, key: str, holder: str) -> None:
        self._kv = kv
        self.key = key
        self.holder = holder
        self._revision: int | None = None

    @property
    def held(self) -> bool:
        return self._revision is not None

    async def keep(self) -> bool:
        """Take the lease if free, renew it if ours; False when another replica holds it (or
        NATS could not say: then we hold nothing, to be safe)."""
        was_held = self.held
        try:
            if self._revision is None:
                self._revision = await self._kv.create(self.key, self.holder.encode())
            else:
                self._revision = await self._kv.update(
                    self.key, self.holder.encode(), last=self._revision
                )
        except KeyWrongLastSequenceError:
            self._revision = None  # someone else holds it (or took it over after our TTL)
        except Exception as exc:
            self._revision = None
            _log.warning("lease_not_kept", key=self.key, error=type(exc).__name__)
        if self.held != was_held:
            _log.info(
                "lease_taken" if self.held else "lease_lost", key=self.key, holder=self.holder
            )
        return self.held

    async def release(self) -> None:
        """Give it up at once (a clean stop): another replica need not wait for the TTL."""
        revision, self._revision = self._revision, None
        if revision is None:
            return
        try:
            await self._kv.delete(self.key, last=revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            pass
        except Exception as exc:  # NATS gone: the TTL frees it
            _log.warning("lease_not_released", key=self.key, error=type(exc).__name__)
