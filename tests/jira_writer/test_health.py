"""The jira-writer's health read (``pdjira doctor``, ``rules validate``) against the Jira
simulator: version, login, per-project permissions, service desks and agents."""

from __future__ import annotations

from pdjira_jira_writer.health import health_of, service_desk_agent
from pdjira_jira_writer.jira_client import HttpJiraClient
from pdjira_writer.vendor_http import HttpOptions

from .conftest import JIRA_USER, JiraSim, make_config

TEAM = "Service Desk Team"


async def test_health_names_version_login_permissions_and_agents(jira_sim: JiraSim) -> None:
    config = make_config("nats://unused", jira_sim.url)
    client = HttpJiraClient(config.jira_instances[0], HttpOptions(timeout=5.0))
    try:
        healthy = await health_of(client, ("OPS", "HELP", "NOPE"))
        assert (healthy.version, healthy.user, healthy.service_management) == (
            "10.3.4",
            JIRA_USER,
            True,
        )
        ops, help_, nope = healthy.projects
        assert "TRANSITION_ISSUES" in ops.held
        assert ops.service_desk is None
        assert help_.service_desk is not None
        assert help_.service_desk.agent is True
        assert help_.service_desk.request_types == ("Get IT help", "Report a system problem")
        assert (nope.key, nope.error) == (None, None)  # no such project: not an error

        await jira_sim.http.delete(f"{jira_sim.url}/_sim/projects/OPS/permissions/EDIT_ISSUES")
        await jira_sim.http.delete(
            f"{jira_sim.url}/_sim/projects/HELP/roles/{TEAM}/actors", params={"user": JIRA_USER}
        )
        broken = await health_of(client, ("OPS", "HELP"))
        ops, help_ = broken.projects
        assert "EDIT_ISSUES" not in ops.held
        assert help_.service_desk is not None
        assert help_.service_desk.agent is False
        assert "TRANSITION_ISSUES" not in help_.held  # agents only
        assert "BROWSE_PROJECTS" in help_.held  # as a customer
    finally:
        await client.aclose()


def test_a_group_actor_makes_its_members_agents() -> None:
    role = {
        "actors": [
            {"type": "atlassian-group-role-actor", "name": "Support-Agents"},
            {"type": "atlassian-user-role-actor", "name": "alice"},
        ]
    }
    assert service_desk_agent(role, "alice", set())
    assert service_desk_agent(role, "bob", {"support-agents"})
    assert not service_desk_agent(role, "bob", {"jira-software-users"})
