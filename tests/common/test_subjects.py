"""Subject tokens and KV key tokens: bounded, safe, stable, collision-free; ordinary ids as
they were (the subjects and keys of existing data do not move)."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pdjira_common import subjects
from pdjira_common.subjects import MAX_MSG_ID, MAX_TOKEN, msg_id, token

_KV_KEY = re.compile(r"[-/_=.a-zA-Z0-9]+")  # what nats-py and the server accept as a KV key
_TOKEN = re.compile(r"[-_=a-zA-Z0-9]+")


@pytest.mark.parametrize(
    "value", ["PABC123", "Q3B15VLMF3ASBD", "10100", "dc1", "acme", "jira-dc1-10100", "x" * 64]
)
def test_ordinary_ids_are_their_own_token(value: str) -> None:
    assert token(value) == value


def test_a_long_id_becomes_a_bounded_readable_token_with_a_digest() -> None:
    long_id = "P" * 5000
    got = token(long_id)
    assert len(got) <= MAX_TOKEN
    assert got == "P" * 40 + "=" + hashlib.sha256(long_id.encode()).hexdigest()[:16]
    assert token(long_id) == got  # stable
    assert token("P" * 4999 + "Q") != got  # distinct long ids stay distinct
    assert token("x" * 65) != token("x" * 64)


@pytest.mark.parametrize(
    ("one", "other"),
    [("a.b", "a_b"), ("a b", "a_b"), ("a*", "a>"), ("", "_"), ("é", "_")],
)
def test_altered_values_do_not_collide(one: str, other: str) -> None:
    assert token(one) != token(other)


def test_an_altered_token_cannot_be_forged_by_an_ordinary_id() -> None:
    # An ordinary id never contains "=", the digest separator.
    altered = token("a.b")
    assert "=" in altered
    assert token(altered) != altered


@given(st.text(max_size=300))
def test_every_token_is_a_bounded_subject_token_and_kv_key(value: str) -> None:
    got = token(value)
    assert 1 <= len(got) <= MAX_TOKEN
    assert _TOKEN.fullmatch(got)
    assert _KV_KEY.fullmatch(f"pd.acme.{got}")


def test_subjects_of_a_5000_character_id_fit_the_control_line() -> None:
    huge = "E" * 5000
    for subject in (
        subjects.event_pd(huge, huge),
        subjects.event_jira(huge, huge),
        subjects.command_jira(huge, huge),
        subjects.command_pd(huge, huge),
        subjects.outcome(huge, huge),
        subjects.audit(huge),
        subjects.dlq(huge, huge),
    ):
        assert len(subject) < 200
        assert all(part and "*" not in part and ">" not in part for part in subject.split("."))
    assert subjects.event_pd("acme", "PABC123") == "events.pd.acme.PABC123"


def test_message_ids_are_bounded_and_stable() -> None:
    assert msg_id("pd:01ABC") == "pd:01ABC"
    long_id = "e" * 5000
    assert len(msg_id(long_id)) <= MAX_MSG_ID
    assert msg_id(long_id) == msg_id(long_id)
    assert msg_id(long_id) != msg_id(long_id + "f")
    assert "\n" not in msg_id("a\r\nb")
    assert msg_id("a\r\nb") != msg_id("a__b")


def test_read_subjects_are_bounded_too() -> None:
    from pdjira_common.requests import jira_read_subject, pd_read_subject

    assert pd_read_subject("acme", "user") == "reads.pd.acme.user"
    assert len(jira_read_subject("i" * 5000, "users_by_email")) < 100
    assert jira_read_subject("a.b", "user").count(".") == 3
