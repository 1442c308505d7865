"""The jira-writer's audit trail: one WriteRecord per attempt at a command, in stream AUDIT
under the command's correlation id, with every Jira call (status, latency) and the outcome."""

from __future__ import annotations

from nats.aio.client import Client
from pdjira_common import streams, subjects
from pdjira_common.contracts import WriteRecord, decode_trail
from pdjira_devstack.waiting import wait_until
from pdjira_jira_writer.main import JiraWriterService
from support.writers import OutcomeWatcher

from .conftest import INSTANCE, JiraSim, send
from .test_jira_writer_service import create, new_incident


async def write_records(nc: Client, correlation_id: str) -> list[WriteRecord]:
    js = nc.jetstream()
    subject = subjects.audit(correlation_id)
    records: list[WriteRecord] = []
    try:
        last = (await js.stream_info(streams.AUDIT, subjects_filter=subject)).state.last_seq
    except Exception:
        return records
    if not last:
        return records
    sub = await js.subscribe(subject, stream=streams.AUDIT, ordered_consumer=True)
    try:
        while True:
            msg = await sub.next_msg(timeout=5.0)
            record = decode_trail(msg.data)
            if isinstance(record, WriteRecord):
                records.append(record)
            if msg.metadata.num_pending == 0:
                return records
    finally:
        await sub.unsubscribe()


async def wait_records(
    nc: Client, correlation_id: str, outcome: str, what: str
) -> list[WriteRecord]:
    async def found() -> list[WriteRecord] | None:
        records = await write_records(nc, correlation_id)
        return records if any(r.outcome == outcome for r in records) else None

    return await wait_until(found, timeout=15, what=what)


async def test_a_create_records_the_jira_post_with_its_status_and_latency(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    command = create(incident)
    await send(nc, command)
    await outcomes.wait_for(command.command_id)

    [record] = await wait_records(nc, command.correlation_id, "done", "the write record")
    assert (record.service, record.command, record.command_id) == (
        "jira-writer",
        "CreateIssue",
        command.command_id,
    )
    assert record.target == f"jira:{INSTANCE}"
    assert record.entity == f"pd:{incident.account}:{incident.incident_id}"
    assert record.attempt == 1
    [issue] = await jira_sim.issues(f"pdjira-{incident.account}-{incident.incident_id}")
    assert f"issue {issue['key']} (id {issue['id']}) created" in record.detail
    [post] = [c for c in record.calls if c.method == "POST"]
    assert post.path == "/rest/api/2/issue"
    assert post.status == 201
    assert post.latency_ms > 0
    assert post.error is None
    # Every call the attempt made is there, each with its answer.
    assert all(c.status is not None and c.status < 300 for c in record.calls)
    assert record.started_at <= post.at <= record.recorded_at


async def test_a_refusal_records_jiras_400_and_the_dead_letter(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    command = create(new_incident(), fields={"customfield_99999": "x"})
    await send(nc, command)
    await outcomes.wait_for(command.command_id)

    [record] = await wait_records(nc, command.correlation_id, "failed", "the failure record")
    assert [c.status for c in record.calls if c.method == "POST"] == [400]
    assert "customfield_99999" in record.detail
    assert "(HTTP 400)" in record.detail
    assert "dead-lettered" in record.detail


async def test_each_attempt_is_recorded_with_the_503s_and_the_retry(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    await jira_sim.faults(error_rate=1.0)
    command = create(new_incident())
    await send(nc, command)

    retried = await wait_records(nc, command.correlation_id, "retry", "a retry record")
    await jira_sim.clear_faults()
    await outcomes.wait_for(command.command_id)

    records = await wait_records(nc, command.correlation_id, "done", "the final record")
    first = retried[0]
    assert first.attempt == 1
    assert 503 in {c.status for c in first.calls}
    assert "503" in first.detail
    done = records[-1]
    assert done.outcome == "done"
    assert done.attempt == len(records) > 1
    assert [r.attempt for r in records] == list(range(1, len(records) + 1))
