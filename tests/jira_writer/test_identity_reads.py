"""The jira-writer's user reads for mapping, on a real nats-server against the simulator: a
user by key (Jira's user search never matches keys) and whose a person's PAT is (self-link)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from nats.aio.client import Client
from pdjira_common.contracts import encode
from pdjira_common.identity import JiraUserByKey, JiraWhoAmI, WhoAmIReply
from pdjira_common.requests import JiraUser, JiraUserSearch, JiraUsersReply, jira_read_subject
from pdjira_jira_writer.identity import whoami_reply

from .conftest import INSTANCE, JiraSim

JDOE = JiraUser(name="jdoe", key="JIRAUSER10100", email="jdoe@example.com", display_name="John Doe")


def test_whoami_reply_names_the_problem() -> None:
    assert whoami_reply("dc1", 401, None).problem == "refused"
    assert whoami_reply("dc1", 503, None).problem == "unavailable"


async def ask(nc: Client, request: msgspec.Struct, what: str, reply: type[Any]) -> Any:
    answer = await nc.request(jira_read_subject(INSTANCE, what), encode(request), timeout=5)
    return msgspec.json.decode(answer.data, type=reply)


async def test_a_user_is_found_by_key_where_the_search_finds_nobody(
    nc: Client, start_writer: Callable[..., Any]
) -> None:
    async with start_writer():
        search = await ask(
            nc, JiraUserSearch(instance=INSTANCE, query=JDOE.key), "users_by_email", JiraUsersReply
        )
        assert search.users == ()  # as Jira: username, name and e-mail only

        by_key = await ask(
            nc, JiraUserByKey(instance=INSTANCE, key=JDOE.key), "user_by_key", JiraUsersReply
        )
        assert by_key.users == (JDOE,)
        nobody = await ask(
            nc, JiraUserByKey(instance=INSTANCE, key="JIRAUSER99999"), "user_by_key", JiraUsersReply
        )
        assert (nobody.users, nobody.error) == ((), None)


async def test_a_personal_access_token_names_its_user(
    nc: Client, jira_sim: JiraSim, start_writer: Callable[..., Any]
) -> None:
    minted = await jira_sim.http.post(
        f"{jira_sim.url}/_sim/users/jdoe/token", json={"token": "jdoe-own-pat"}
    )
    minted.raise_for_status()
    async with start_writer():
        mine = await ask(
            nc, JiraWhoAmI(instance=INSTANCE, token="jdoe-own-pat"), "whoami", WhoAmIReply
        )
        assert mine.jira_user == JDOE

        wrong = await ask(
            nc, JiraWhoAmI(instance=INSTANCE, token="not-a-pat"), "whoami", WhoAmIReply
        )
        assert (wrong.jira_user, wrong.problem) == (None, "refused")
        assert wrong.error is not None
        assert "not-a-pat" not in wrong.error
