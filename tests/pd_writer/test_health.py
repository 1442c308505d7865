"""The pd-writer's health read (``pdjira doctor``): the token works and the From user exists."""

from __future__ import annotations

from typing import Any

from pdjira_pd_writer.health import health_of


class Users:
    def __init__(self, *users: dict[str, Any]) -> None:
        self.users = list(users)

    async def users_matching(self, email: str) -> list[dict[str, Any]]:
        return [u for u in self.users if u["email"] == email]


async def test_the_from_user_and_its_role() -> None:
    api = Users({"id": "PBOT", "email": "bot@example.com", "role": "observer"})
    found = await health_of(api, "bot@example.com")
    assert (found.token_ok, found.from_user_id, found.from_role) == (True, "PBOT", "observer")
    missing = await health_of(api, "nobody@example.com")
    assert (missing.token_ok, missing.from_user_id) == (True, None)
