"""The pure parts of the Dead letters and Trace pages: the replay flash messages and how a
trace step's details are marked (a rule item's verdict, a vendor call's answer)."""

from __future__ import annotations

from pdjira_common.contracts import DeadLetter
from pdjira_console.pages.dead_letters import Letter, replay_message
from pdjira_console.pages.trace import Detail, detail_of


def test_replay_messages_say_what_was_replayed_and_what_was_gone() -> None:
    assert replay_message(["3: replayed to commands.jira.1.main.X"]) == (
        "Replayed 3: replayed to commands.jira.1.main.X",
        "",
    )
    notice, error = replay_message(
        ["3: replayed to a", "9: no such dead letter (see `pdjira dlq list`)"]
    )
    assert notice == "Replayed 3: replayed to a"
    assert error == (
        "9: no such dead letter: already replayed or removed (the list below is current)"
    )
    assert replay_message([]) == ("No dead letters to replay", "")


def test_a_letter_shows_its_time_to_the_second_and_its_reason_on_one_line() -> None:
    letter = DeadLetter(
        stream="COMMANDS",
        consumer="jira-writer",
        subject="commands.jira.1.main.X",
        reason="refused\n  twice",
        attempts=1,
        correlation_id=None,
        failed_at="2026-12-07T02:45:31.243382+00:00",
        data=b"{}",
        headers={},
    )
    shown = Letter(4, letter)
    assert shown.when == "2026-12-07 02:45:31"
    assert shown.reason == "refused twice"


def test_verdicts_and_vendor_calls_are_picked_out_of_the_details() -> None:
    assert detail_of("decided", "+ ops / items[0]: event in [x]: yes") == Detail(
        "ops / items[0]: event in [x]: yes", verdict="matched"
    )
    assert detail_of("decided", "- ops: autocreate is off").verdict == "not matched"
    assert detail_of("decided", "commands: create:main:Q1") == Detail("commands: create:main:Q1")
    ok = detail_of("write", "POST /rest/api/2/issue -> 201 in 2.8 ms")
    assert (ok.status, ok.ok) == ("201", True)
    refused = detail_of("write", "POST /rest/api/2/issue -> 400 in 3 ms")
    assert (refused.status, refused.ok) == ("400", False)
    silent = detail_of("write", "GET /rest/api/2/search -> no answer (ReadTimeout) in 10000 ms")
    assert (silent.status, silent.ok) == ("no answer (ReadTimeout)", False)
    assert detail_of("write", "done: issue OPS-3 created") == Detail("done: issue OPS-3 created")
    assert detail_of("received", "+ not a verdict") == Detail("+ not a verdict")
