"""The expected end state of a pair from the people's actions, and which pdjira writes
overrode a person (pure)."""

from __future__ import annotations

from pdjira_devstack.chaos_model import (
    HumanAction,
    PairState,
    StatusWrite,
    acceptable_states,
    expected_state,
    overriding_writes,
    propagated_writes,
    put_back,
)


def pd(at: float, status: str) -> HumanAction:
    return HumanAction(at, "pd", status)


def jira(at: float, status: str) -> HumanAction:
    return HumanAction(at, "jira", status)


def test_a_trigger_then_pagerduty_walk_moves_the_issue_along() -> None:
    actions = [pd(1, "triggered"), pd(2, "acknowledged"), pd(3, "resolved")]
    assert expected_state(actions) == PairState("resolved", "Done")
    assert propagated_writes(actions) == {"pd": 0, "jira": 2}


def test_the_last_person_decides_whatever_order_the_log_has() -> None:
    # A person moves the issue, another resolves in PagerDuty a moment later.
    actions = [pd(3.1, "resolved"), jira(3.0, "In Progress"), pd(1, "triggered")]
    assert expected_state(actions) == PairState("resolved", "Done")


def test_moving_an_issue_back_reopens_the_resolved_incident() -> None:
    actions = [pd(1, "triggered"), pd(2, "resolved"), jira(5, "To Do")]
    assert expected_state(actions) == PairState("triggered", "To Do")


def test_in_progress_does_not_reopen_a_resolved_incident() -> None:
    actions = [jira(1, "To Do"), jira(2, "Done"), jira(3, "To Do"), pd(4, "resolved")]
    assert expected_state(actions) == PairState("resolved", "Done")
    later = [*actions, jira(5, "In Progress")]
    assert expected_state(later) == PairState("resolved", "In Progress")


def test_a_jira_born_issue_done_at_once_resolves_its_incident() -> None:
    actions = [jira(1, "To Do"), jira(1.1, "Done")]
    assert expected_state(actions) == PairState("resolved", "Done")
    assert propagated_writes(actions) == {"pd": 1, "jira": 0}


def test_no_actions_no_expectation() -> None:
    assert expected_state([]) is None


def test_a_stale_acknowledge_after_a_person_resolved_overrides_them() -> None:
    actions = [pd(1, "triggered"), jira(3.0, "In Progress"), pd(3.1, "resolved")]
    stale = StatusWrite(3.5, "pd", "acknowledged")
    assert overriding_writes(actions, [StatusWrite(3.05, "pd", "acknowledged"), stale]) == [stale]


def test_an_issue_taken_out_of_done_after_a_person_put_it_there_is_an_override() -> None:
    actions = [pd(1, "triggered"), pd(2.0, "acknowledged"), jira(3.1, "Done")]
    writes = [StatusWrite(2.05, "jira", "In Progress"), StatusWrite(3.5, "jira", "In Progress")]
    assert overriding_writes(actions, writes) == [writes[1]]


def test_writes_a_newer_person_asked_for_are_no_override() -> None:
    actions = [pd(1, "triggered"), jira(2, "In Progress"), pd(3, "resolved")]
    writes = [StatusWrite(2.5, "pd", "acknowledged"), StatusWrite(3.5, "jira", "Done")]
    assert overriding_writes(actions, writes) == []


def test_an_override_pdjira_undid_at_once_is_put_back() -> None:
    actions = [pd(1, "triggered"), jira(3.0, "In Progress"), pd(3.1, "resolved")]
    raced = StatusWrite(3.2, "pd", "acknowledged")
    restored = StatusWrite(3.3, "pd", "resolved")
    writes = [raced, restored]
    assert overriding_writes(actions, writes) == [raced]
    assert put_back(actions, writes, raced)


def test_an_override_left_standing_or_undone_too_late_is_not_put_back() -> None:
    actions = [pd(1, "triggered"), jira(3.0, "In Progress"), pd(3.1, "resolved")]
    raced = StatusWrite(3.2, "pd", "acknowledged")
    assert not put_back(actions, [raced], raced)
    late = StatusWrite(3.2 + 60, "pd", "resolved")
    assert not put_back(actions, [raced, late], raced)
    # pdjira's next write there was another override, not the value the person left
    again = StatusWrite(3.4, "pd", "acknowledged")
    assert not put_back(actions, [raced, again], raced)


def test_a_person_acting_after_the_override_ends_the_chance_to_put_it_back() -> None:
    actions = [pd(1, "triggered"), pd(3.1, "resolved"), pd(3.25, "resolved")]
    raced = StatusWrite(3.2, "pd", "acknowledged")
    restored = StatusWrite(3.3, "pd", "resolved")
    assert not put_back(actions, [raced, restored], raced)


def test_two_sides_changed_within_one_second_may_end_either_way() -> None:
    # PagerDuty's REST times changes to the second: the pd-writer, and reconciliation for a
    # change whose webhook was lost, cannot order them against a Jira change of that second.
    actions = [pd(1, "triggered"), pd(7.2, "resolved"), jira(7.29, "In Progress")]
    assert expected_state(actions) == PairState("resolved", "In Progress")
    assert set(acceptable_states(actions)) == {
        PairState("resolved", "In Progress"),
        PairState("resolved", "Done"),
    }
    # a second apart: one order only
    apart = [pd(1, "triggered"), pd(6.9, "resolved"), jira(7.29, "In Progress")]
    assert acceptable_states(apart) == [PairState("resolved", "In Progress")]
    # the same side twice: its own order is known
    same_side = [pd(1, "triggered"), pd(7.2, "acknowledged"), pd(7.4, "resolved")]
    assert acceptable_states(same_side) == [PairState("resolved", "Done")]


def test_a_write_right_for_either_order_of_one_second_is_no_override() -> None:
    actions = [pd(1, "triggered"), pd(7.2, "resolved"), jira(7.29, "In Progress")]
    assert overriding_writes(actions, [StatusWrite(9.0, "jira", "Done")]) == []
    apart = [pd(1, "triggered"), pd(6.9, "resolved"), jira(7.29, "In Progress")]
    assert overriding_writes(apart, [StatusWrite(9.0, "jira", "Done")]) != []


def test_a_reopen_and_acknowledge_put_back_by_a_resolve_is_put_back() -> None:
    # PagerDuty logs our racing acknowledge of a resolved incident as a reopen and an ack
    actions = [pd(1, "triggered"), jira(3.0, "In Progress"), pd(4.1, "resolved")]
    reopen, ack = StatusWrite(4.2, "pd", "triggered"), StatusWrite(4.2, "pd", "acknowledged")
    writes = [reopen, ack, StatusWrite(4.5, "pd", "resolved")]
    assert overriding_writes(actions, writes) == [reopen, ack]
    assert put_back(actions, writes, reopen)
    assert put_back(actions, writes, ack)
