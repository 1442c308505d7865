"""Config rules are checked against the live catalogs once the writers answer; a refused rule
is left out of every decision and reported with its problems."""

from __future__ import annotations

from nats.aio.client import Client
from pdjira_rules.catalog import Catalogs
from pdjira_rules.config_check import CheckedRules
from pdjira_rules.reads import NatsReads
from pdjira_rules.rule_loading import load_config_rules

from .conftest import FakeWriters, StoreFactory, jira_named, until
from .test_loading import ACCOUNTS, INSTANCES, pd_rule


def with_status(name: str, status: str) -> dict[str, object]:
    rule = pd_rule(name)
    items = rule["config"]["react_on_issue_status_change_config"]
    items[0]["jira_statuses"] = [{"label": status}]
    return {"rule": rule}


async def test_a_config_rule_naming_a_missing_status_is_refused_once_writers_answer(
    nc: Client, make_store: StoreFactory, writers: FakeWriters
) -> None:
    good, typo = with_status("Good", "Done"), with_status("Typo", "Doen")
    store = await make_store(load_config_rules([good, typo], ACCOUNTS, INSTANCES))
    writers.silent = {"reads.jira.dc1.statuses"}  # jira-writer not up yet
    checked = CheckedRules(store, Catalogs(NatsReads(lambda: nc, timeout=0.3)), retry_every=0.1)
    checked.start()
    try:
        await until(lambda: len(writers.asked) > 0, what="the first catalog read")
        # Not checked yet: both apply (they passed every check that could run).
        assert [r.name for r in checked.current()] == ["Good", "Typo"]
        assert not checked.checked.is_set()

        writers.silent = set()  # jira-writer is up
        await checked.checked.wait()
        assert [r.name for r in checked.current()] == ["Good"]
        [(rule_id, problems)] = checked.refused().items()
        assert rule_id == "cfg-typo"
        [problem] = problems
        assert problem.path.endswith("react_on_issue_status_change_config[0].jira_statuses[0]")
        assert "status 'Doen' does not exist; statuses: To Do, In Progress, Done" in str(problem)
    finally:
        await checked.stop()


async def test_a_fixed_version_of_a_refused_rule_applies_again(
    nc: Client, make_store: StoreFactory, writers: FakeWriters
) -> None:
    store = await make_store(load_config_rules([with_status("Typo", "Doen")], ACCOUNTS, INSTANCES))
    checked = CheckedRules(store, Catalogs(NatsReads(lambda: nc, timeout=1.0)))
    assert set(await checked.check_once()) == {"cfg-typo"}
    assert checked.current() == ()

    fixed = load_config_rules([with_status("Typo", "Done")], ACCOUNTS, INSTANCES)[0].wrapped
    await store.replace("cfg-typo", fixed)  # an API PUT with the fix
    await until(
        lambda: [r.name for r in checked.current()] == ["Typo"], what="the fixed rule to apply"
    )
    assert checked.refused() == {}


async def test_a_rule_refused_by_jira_as_it_was_applies_once_jira_has_what_it_names(
    nc: Client, make_store: StoreFactory, writers: FakeWriters
) -> None:
    """Refused for a status Jira did not have (an admin renamed it for a while): checked again,
    it applies once Jira has it, without a restart."""
    store = await make_store(load_config_rules([with_status("Later", "Doen")], ACCOUNTS, INSTANCES))
    checked = CheckedRules(
        store, Catalogs(NatsReads(lambda: nc, timeout=1.0)), retry_every=0.1, recheck_every=0.2
    )
    checked.start()
    try:
        await checked.checked.wait()
        assert checked.current() == ()

        writers.statuses = (*writers.statuses, *jira_named(("10002", "Doen")))
        await until(
            lambda: [r.name for r in checked.current()] == ["Later"], what="the rule to apply"
        )
        assert checked.refused() == {}
    finally:
        await checked.stop()
