"""The pure rules of the link registry, table-driven."""

from __future__ import annotations

import hashlib

import pytest
from pdjira_common.contracts import IncidentRef, IssueRef, Link
from pdjira_mapping.links import Verdict, incident_key, issue_key, judge, same_link


def link(incident: str = "PABC123", issue_id: str = "10001", key: str = "OPS-1") -> Link:
    return Link(
        incident=IncidentRef(account="acme", incident_id=incident),
        issue=IssueRef(instance="dc1", issue_id=issue_id, key=key),
        created_at="2026-01-01T00:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("existing", "wanted", "verdict"),
    [
        (None, link(), Verdict.CREATED),
        (link(), link(), Verdict.ALREADY),
        # the key of an issue can change (moved to another project); its id cannot
        (link(key="OPS-1"), link(key="SRE-7"), Verdict.ALREADY),
        (link(issue_id="10001"), link(issue_id="10002"), Verdict.CONFLICT),
        (link(incident="PABC123"), link(incident="PXYZ999"), Verdict.CONFLICT),
    ],
)
def test_judge(existing: Link | None, wanted: Link, verdict: Verdict) -> None:
    assert judge(existing, wanted) is verdict


def test_created_at_does_not_make_links_different() -> None:
    a = link()
    b = Link(incident=a.incident, issue=a.issue, created_at="2030-05-05T00:00:00+00:00")
    assert same_link(a, b)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            incident_key(IncidentRef(account="acme", incident_id="Q3B15VLMF3ASBD")),
            "pd.acme.Q3B15VLMF3ASBD",
        ),
        (issue_key("dc1", "10100"), "jira.dc1.10100"),
        # anything unsafe for a KV key / subject token is replaced, never passed through, and
        # the replaced value carries a digest: "a.b*c" and "a_b_c" are two keys
        (
            incident_key(IncidentRef(account="acme", incident_id="a.b*c")),
            "pd.acme.a_b_c=" + hashlib.sha256(b"a.b*c").hexdigest()[:16],
        ),
        (incident_key(IncidentRef(account="acme", incident_id="a_b_c")), "pd.acme.a_b_c"),
    ],
)
def test_keys(key: str, expected: str) -> None:
    assert key == expected
