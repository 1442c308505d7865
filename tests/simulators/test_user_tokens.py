"""A person's own tokens in the simulators: PagerDuty user-level API keys and ``/users/me``
(refused for an account-level key, as PagerDuty does), Jira personal access tokens minted for
a user and ``/myself``."""

from __future__ import annotations

from .conftest import Sim

ACCEPT = {"Accept": "application/vnd.pagerduty+json;version=2"}


async def test_users_me_names_the_owner_of_a_user_level_key_only(pd: Sim) -> None:
    created = await pd.admin.post(
        "/_sim/users",
        json={"id": "PJO0001", "name": "Jo Ng", "email": "jo@example.com", "token": "jo-key"},
    )
    assert created.status_code == 201
    minted = await pd.admin.post("/_sim/users/PUSER01/token", json={"token": "pat-key"})
    assert minted.status_code == 201

    for key, user_id in (("jo-key", "PJO0001"), ("pat-key", "PUSER01")):
        me = await pd.admin.get(
            "/users/me", headers={**ACCEPT, "Authorization": f"Token token={key}"}
        )
        assert me.status_code == 200
        assert me.json()["user"]["id"] == user_id

    account = await pd.client.get("/users/me")  # the integration's account-level key
    assert account.status_code == 400
    error = account.json()["error"]
    assert "account-level access token" in error["message"]
    # a user key is a key like any other: the user's own calls authenticate
    listed = await pd.admin.get("/users", headers={**ACCEPT, "Authorization": "Token token=jo-key"})
    assert listed.status_code == 200
    unknown = await pd.admin.get("/users/me", headers={**ACCEPT, "Authorization": "Token token=x"})
    assert unknown.status_code == 401


async def test_a_user_needs_a_new_email_and_a_token_a_known_user(pd: Sim) -> None:
    taken = await pd.admin.post("/_sim/users", json={"name": "Pat 2", "email": "pat@example.com"})
    assert taken.status_code == 400
    nobody = await pd.admin.post("/_sim/users/PNOBODY/token", json={"token": "k"})
    assert nobody.status_code == 400


async def test_a_jira_pat_minted_for_a_user_is_theirs(jira: Sim) -> None:
    minted = await jira.admin.post("/_sim/users/jdoe/token", json={"token": "jdoe-pat"})
    assert minted.status_code == 201
    me = await jira.admin.get(
        "/rest/api/2/myself",
        headers={"Authorization": "Bearer jdoe-pat", "Accept": "application/json"},
    )
    assert me.status_code == 200
    assert (me.json()["name"], me.json()["key"]) == ("jdoe", "JIRAUSER10100")
    nobody = await jira.admin.post("/_sim/users/ghost/token", json={"token": "g"})
    assert nobody.status_code == 400
    by_key = await jira.client.get("/user", params={"key": "JIRAUSER10100"})
    assert by_key.json()["name"] == "jdoe"
