"""Sessions, login and CSRF decisions (pure functions, no server)."""

from __future__ import annotations

from pdjira_common.config import ConsoleSettings
from pdjira_common.secrets import Secret
from pdjira_console.auth import Session, check_token, open_signed, session_key, sign

SETTINGS = ConsoleSettings(admin_token=Secret("admin-token-1"))


def test_only_the_configured_admin_token_logs_in() -> None:
    assert check_token(SETTINGS, "admin-token-1")
    assert not check_token(SETTINGS, "admin-token-2")
    assert not check_token(SETTINGS, "")
    assert not check_token(ConsoleSettings(), "anything")


def test_a_signed_session_opens_and_a_tampered_one_does_not() -> None:
    key = session_key(SETTINGS)
    assert key is not None
    session = Session.new("admin", now=1000.0)
    cookie = sign(key, session)
    assert open_signed(key, cookie, Session) == session
    body, _, mac = cookie.rpartition(".")
    forged = sign(key, Session(user="mallory", csrf=session.csrf, expires=9e9)).split(".")[0]
    assert open_signed(key, f"{forged}.{mac}", Session) is None
    assert open_signed(key, f"{body}.{mac[:-2]}xx", Session) is None
    assert open_signed(b"another key", cookie, Session) is None
    assert open_signed(key, None, Session) is None
    assert open_signed(key, "garbage", Session) is None


def test_the_session_key_is_the_secret_when_set_else_derived_from_the_token() -> None:
    with_secret = ConsoleSettings(admin_token=Secret("t"), session_secret=Secret("s"))
    assert session_key(with_secret) != session_key(ConsoleSettings(admin_token=Secret("t")))
    assert session_key(ConsoleSettings(admin_token=Secret("t"))) != session_key(SETTINGS)
    assert session_key(ConsoleSettings()) is None


def test_each_session_has_its_own_csrf_token() -> None:
    assert Session.new("admin").csrf != Session.new("admin").csrf
