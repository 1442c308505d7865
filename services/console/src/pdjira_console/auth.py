"""Sessions (a signed cookie), login by the admin token or a trusted proxy header, CSRF.

Pure functions of their inputs: the key, the cookie text, the clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import msgspec
from pdjira_common.config import ConsoleSettings

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "FLASH_COOKIE",
    "SESSION_SECONDS",
    "FlashCookie",
    "Session",
    "check_token",
    "open_signed",
    "session_key",
    "sign",
]

COOKIE = "pdjira_console"
FLASH_COOKIE = "pdjira_console_flash"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 12 * 3600


class Session(msgspec.Struct, frozen=True, kw_only=True):
    user: str
    csrf: str
    expires: float

    @classmethod
    def new(cls, user: str, now: float | None = None) -> Session:
        at = time.time() if now is None else now
        return cls(user=user, csrf=secrets.token_urlsafe(24), expires=at + SESSION_SECONDS)


def session_key(settings: ConsoleSettings) -> bytes | None:
    """The key signing cookies: ``session_secret``, else derived from ``admin_token``; None
    when neither is set (a trusted header alone gets a random key per process)."""
    if settings.session_secret is not None:
        return hashlib.sha256(
            b"pdjira-console-session:" + settings.session_secret.reveal().encode()
        ).digest()
    if settings.admin_token is not None:
        return hashlib.sha256(
            b"pdjira-console-derived:" + settings.admin_token.reveal().encode()
        ).digest()
    return None


def check_token(settings: ConsoleSettings, entered: str) -> bool:
    """The entered admin token is the configured one (constant-time comparison)."""
    if settings.admin_token is None:
        return False
    return hmac.compare_digest(entered.encode(), settings.admin_token.reveal().encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, payload: object) -> str:
    """``payload`` as JSON, base64, and its HMAC-SHA256: a cookie value."""
    body = _b64(msgspec.json.encode(payload))
    mac = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def open_signed(key: bytes, value: str | None, kind: type[msgspec.Struct]) -> msgspec.Struct | None:
    """The payload of a cookie made by :func:`sign`; None when absent, forged or malformed."""
    if not value or "." not in value:
        return None
    body, _, mac = value.rpartition(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    try:
        return msgspec.json.decode(_unb64(body), type=kind)
    except (msgspec.DecodeError, ValueError):
        return None


class FlashCookie(msgspec.Struct, frozen=True, kw_only=True):
    notice: str = ""
    error: str = ""
