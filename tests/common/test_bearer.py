"""The admin APIs' ``Authorization: Bearer`` check: the scheme in any case, the token exact."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from pdjira_common.bearer import bearer_matches
from pdjira_common.config import RulesSettings, parse_config
from pdjira_common.secrets import Secret
from pdjira_mapping.admin import admin_app
from pdjira_rules.admin_api import RulesApi

TOKEN = "s3cret-admin-token"


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {TOKEN}",
        f"bearer {TOKEN}",
        f"BEARER {TOKEN}",
        f"BeArEr {TOKEN}",
        f" Bearer {TOKEN} ",
    ],
)
def test_the_scheme_is_matched_in_any_case(header: str) -> None:
    assert bearer_matches(header, TOKEN)
    assert bearer_matches(header.encode(), TOKEN)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        TOKEN,
        f"Basic {TOKEN}",
        f"Bearer {TOKEN.upper()}",  # the token itself is case-sensitive
        f"Bearer {TOKEN}x",
        "Bearer ",
        f"Bearer{TOKEN}",
    ],
)
def test_anything_else_is_refused(header: str | None) -> None:
    assert not bearer_matches(header, TOKEN)


class _NoRules:
    def current(self) -> list[Any]:
        return []


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_rules_admin_api_takes_the_scheme_in_any_case(scheme: str) -> None:
    api = RulesApi(
        RulesSettings(admin_token=Secret(TOKEN)),
        accounts=[],
        instances=[],
        store=cast(Any, _NoRules()),
        catalogs=cast(Any, None),
    )
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://rules") as http:
        ok = await http.get("/rules", headers={"Authorization": f"{scheme} {TOKEN}"})
        wrong = await http.get("/rules", headers={"Authorization": f"{scheme} nope"})
    assert ok.status_code == 200, ok.text
    assert wrong.status_code == 401


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_mapping_admin_api_takes_the_scheme_in_any_case(scheme: str) -> None:
    config = parse_config(
        {
            "pagerduty_accounts": [{"id": "acme", "token": "t", "from_email": "a@example.com"}],
            "mapping": {"admin_token": TOKEN},
        }
    )
    app = admin_app(config, cast(Any, None))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mapping") as http:
        # An unknown account is answered 404 after the token check, before any registry is used.
        ok = await http.get(
            "/admin/v1/links/incident/nobody/P1", headers={"Authorization": f"{scheme} {TOKEN}"}
        )
        wrong = await http.get(
            "/admin/v1/links/incident/nobody/P1", headers={"Authorization": f"{scheme} nope"}
        )
    assert ok.status_code == 404, ok.text
    assert wrong.status_code == 401
