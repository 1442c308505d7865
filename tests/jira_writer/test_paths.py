"""Pure pieces: the multi-hop path finder (table-driven) and the rate Jira DC announces."""

from __future__ import annotations

import pytest
from pdjira_jira_writer.errors import server_rate
from pdjira_jira_writer.models import StatusCategory, StatusRef, Transition, TransitionField
from pdjira_jira_writer.transitions import Arrived, NoPath, Step, next_step

CATEGORY = {"To Do": "new", "Done": "done", "Closed": "done", "Cancelled": "done"}


def t(
    tid: str, to: str, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()
) -> Transition:
    fields = {f: TransitionField(required=True) for f in required}
    fields.update({f: TransitionField(required=False) for f in optional})
    category = StatusCategory(CATEGORY.get(to, "indeterminate"))
    return Transition(
        id=tid, name=f"to {to}", to=StatusRef(to, statusCategory=category), fields=fields
    )


CHAIN = {
    "To Do": [t("11", "In Progress")],
    "In Progress": [t("21", "Review"), t("51", "To Do")],
    "Review": [t("31", "Done", required=("resolution",)), t("41", "In Progress")],
}


@pytest.mark.parametrize(
    ("current", "target", "seen", "expected"),
    [
        # already there
        ("Done", "done", {}, Arrived()),
        # direct
        ("To Do", "In Progress", CHAIN, ("11", ("In Progress",), False)),
        # shortest known route, first hop
        ("To Do", "Done", CHAIN, ("11", ("In Progress", "Review", "Done"), False)),
        ("In Progress", "Done", CHAIN, ("21", ("Review", "Done"), False)),
        # only the current status seen: explore the nearest non-Done status
        ("To Do", "Done", {"To Do": CHAIN["To Do"]}, ("11", ("In Progress",), True)),
        (
            "In Progress",
            "Done",
            {"To Do": CHAIN["To Do"], "In Progress": CHAIN["In Progress"]},
            ("21", ("Review",), True),
        ),
        # never through a Done-category status that is not the target
        (
            "To Do",
            "Review",
            {"To Do": [t("21", "Done"), t("11", "In Progress")], "Done": [t("61", "Review")]},
            ("11", ("In Progress",), True),
        ),
        # a transition with a required field we cannot fill is not usable
        (
            "To Do",
            "Review",
            {"To Do": [t("11", "Review", required=("customfield_10100",)), t("12", "Triage")]},
            ("12", ("Triage",), True),
        ),
    ],
)
def test_next_step(
    current: str, target: str, seen: dict[str, list[Transition]], expected: object
) -> None:
    step = next_step(issue_key="OPS-1", current=current, target=target, seen=seen)
    if isinstance(expected, Arrived):
        assert step == expected
        return
    assert isinstance(step, Step), step
    assert (step.plan.transition_id, step.path, step.exploring) == expected


def test_required_resolution_is_filled_from_the_rule_or_a_default() -> None:
    seen = {"Review": CHAIN["Review"]}
    default = next_step(issue_key="OPS-1", current="Review", target="Done", seen=seen)
    ruled = next_step(
        issue_key="OPS-1", current="Review", target="Done", seen=seen, resolution="Won't Do"
    )
    assert isinstance(default, Step)
    assert isinstance(ruled, Step)
    assert default.plan.fields == {"resolution": {"name": "Done"}}
    assert ruled.plan.fields == {"resolution": {"name": "Won't Do"}}


def test_optional_resolution_only_when_the_rule_gives_one() -> None:
    seen = {"To Do": [t("21", "Done", optional=("resolution",))]}
    plain = next_step(issue_key="OPS-1", current="To Do", target="Done", seen=seen)
    assert isinstance(plain, Step)
    assert plain.plan.fields == {}


def test_no_path_names_the_reachable_statuses() -> None:
    seen = {
        "To Do": [t("11", "In Progress"), t("21", "Cancelled")],
        "In Progress": [t("51", "To Do")],
    }
    result = next_step(issue_key="OPS-7", current="To Do", target="Review", seen=seen)
    assert isinstance(result, NoPath)
    assert result.reachable == ("In Progress",)
    assert "issue OPS-7 is in status 'To Do'" in result.reason
    assert "'Review'" in result.reason
    assert "reachable: 'In Progress', 'Cancelled'" in result.reason


def test_no_transition_at_all_hints_at_permissions() -> None:
    result = next_step(issue_key="OPS-7", current="To Do", target="Done", seen={"To Do": []})
    assert isinstance(result, NoPath)
    assert "Transition Issues permission" in result.reason


def test_server_rate_from_jira_dc_headers() -> None:
    headers = {"x-ratelimit-fillrate": "50", "x-ratelimit-interval-seconds": "1"}
    assert server_rate(headers) == 50.0
    assert server_rate({}) is None
