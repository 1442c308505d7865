"""``reads.pd.<account>.whoami`` (self-link): the pd-writer asks PagerDuty ``/users/me`` with a
person's own user API key, on a real nats-server against the simulator."""

from __future__ import annotations

import msgspec
import pytest
from nats.aio.client import Client
from pdjira_common.contracts import encode
from pdjira_common.identity import PdWhoAmI, WhoAmIReply
from pdjira_common.requests import PdUser, pd_read_subject
from pdjira_pd_writer.identity import whoami_reply
from pdjira_pd_writer.models import User

from .conftest import ACCOUNT, PD_TOKEN, PdSim


def test_whoami_reply_names_the_problem() -> None:
    pat = User(id="P1", email="pat@example.com", name="Pat")
    assert whoami_reply("acme", 200, pat, "") == WhoAmIReply(
        pd_user=PdUser(id="P1", email="pat@example.com", name="Pat")
    )
    account = whoami_reply("acme", 400, None, "Because ... an account-level access token ...")
    assert account.problem == "not_a_user_token"
    assert account.error is not None
    assert "account-level API key" in account.error
    assert whoami_reply("acme", 401, None, "Authentication failed").problem == "refused"
    assert whoami_reply("acme", 500, None, "oops").problem == "unavailable"


async def ask(nc: Client, token: str, account: str = ACCOUNT) -> WhoAmIReply:
    request = PdWhoAmI(account=account, token=token)
    answer = await nc.request(pd_read_subject(account, "whoami"), encode(request), timeout=5)
    return msgspec.json.decode(answer.data, type=WhoAmIReply)


@pytest.mark.usefixtures("pd_writer")
async def test_a_user_key_names_its_user_an_account_key_and_a_bad_key_do_not(
    nc: Client, pd_sim: PdSim
) -> None:
    response = await pd_sim.http.post(
        f"{pd_sim.url}/_sim/users",
        json={"id": "PJO0001", "name": "Jo Ng", "email": "jo@example.com", "token": "jo-key"},
    )
    response.raise_for_status()

    mine = await ask(nc, "jo-key")
    assert mine.pd_user == PdUser(id="PJO0001", email="jo@example.com", name="Jo Ng")

    account_key = await ask(nc, PD_TOKEN)
    assert (account_key.pd_user, account_key.problem) == (None, "not_a_user_token")

    wrong = await ask(nc, "not-a-key")
    assert (wrong.pd_user, wrong.problem) == (None, "refused")
    assert wrong.error is not None
    assert "not-a-key" not in wrong.error

    unknown = await ask(nc, "jo-key", account="nope")
    assert unknown.problem == "unavailable"
