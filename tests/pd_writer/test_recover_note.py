"""A note posted before a crash (its command started, never recorded done) is adopted when the
command comes back, not posted twice: PdWriter.recover against the PagerDuty simulator."""

from __future__ import annotations

from pdjira_common.contracts import AddNote, IssueRef, NoteAdded, UpdateIncident
from pdjira_pd_writer.decisions import posted_note
from pdjira_pd_writer.models import Note

from .test_last_human_change import Rig, rig

__all__ = ["rig"]  # the fixture, shared

ISSUE = IssueRef(instance="dc1", issue_id="10100", key="OPS-7")


def test_the_newest_note_with_exactly_our_text_is_ours() -> None:
    notes = (Note(id="N1", content="Failing over"), Note(id="N2", content="Failing over\n"))
    assert posted_note(notes, "Failing over") == Note(id="N2", content="Failing over\n")
    assert posted_note(notes, "Failing over to db-2") is None


async def test_a_note_already_posted_is_adopted_and_another_is_not(rig: Rig) -> None:
    ref = await rig.trigger()
    command = AddNote(
        command_id="cmd-note-1",
        correlation_id="jira:dc1:c1",
        incident=ref,
        issue=ISSUE,
        comment_id="10500",
        body="Failing over to db-2",
    )
    assert await rig.writer.recover(command) is None  # nothing posted yet: apply it
    posted = await rig.writer.handle(command)
    assert isinstance(posted, NoteAdded)

    adopted = await rig.writer.recover(command)  # as after a crash before the record

    assert adopted == posted
    assert len(rig.app.state.sim.state.notes[ref.incident_id]) == 1
    status = UpdateIncident(command_id="c2", correlation_id="e2", incident=ref, status="resolved")
    assert await rig.writer.recover(status) is None  # convergent: simply applied again
