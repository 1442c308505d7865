"""The jira-writer's side of the webhook check: both registration APIs read, a Jira without the
newer one (<= 9) still listed, writes sent to the API the webhook was listed by."""

from __future__ import annotations

from typing import Any

from pdjira_common.webhook_admin import JIRA_API_V1, JIRA_API_V10, JiraWebhook, JiraWebhookRequest
from pdjira_jira_writer.errors import JiraError
from pdjira_jira_writer.webhooks import answer, read_webhook, webhook_body

URL = "https://pdjira.example.com/webhooks/jira/dc1"
V1_ITEM = {
    "name": "pdjira",
    "url": URL,
    "excludeBody": False,
    "filters": {"issue-related-events-section": 'project in ("OPS")'},
    "events": ["jira:issue_created", "jira:issue_updated"],
    "enabled": False,
    "self": f"https://jira.example.com{JIRA_API_V1}/12",
}
V10_ITEM = {
    "id": 12,
    "name": "pdjira",
    "url": URL,
    "events": ["jira:issue_created"],
    "filters": {"issue-related-events-section": ""},
    "excludeBody": True,
    "active": True,
}


class FakeJira:
    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, Any]] = []

    async def webhook_call(self, method: str, path: str, what: str, body: Any = None) -> Any:
        self.calls.append((method, path, body))
        answer = self.answers.get((method, path))
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_both_apis_are_read_alike() -> None:
    v1 = read_webhook(V1_ITEM, "v1")
    assert (v1.id, v1.api, v1.enabled, v1.jql) == ("12", "v1", False, 'project in ("OPS")')
    v10 = read_webhook(V10_ITEM, "v10")
    assert (v10.id, v10.enabled, v10.exclude_body, v10.jql) == ("12", True, True, None)


async def test_list_keeps_one_copy_per_id_and_survives_a_jira_without_v10() -> None:
    both = FakeJira({("GET", JIRA_API_V10): [V10_ITEM], ("GET", JIRA_API_V1): [V1_ITEM]})
    reply = await answer(both, JiraWebhookRequest(instance="dc1", op="list"))
    assert reply.apis == ("v10", "v1")
    assert [(h.id, h.api) for h in reply.webhooks] == [("12", "v10")]

    old = FakeJira(
        {
            ("GET", JIRA_API_V10): JiraError("not found", status_code=404),
            ("GET", JIRA_API_V1): [V1_ITEM],
        }
    )
    reply = await answer(old, JiraWebhookRequest(instance="dc1", op="list"))
    assert reply.error is None
    assert reply.apis == ("v1",)
    assert [(h.id, h.api) for h in reply.webhooks] == [("12", "v1")]


async def test_update_goes_to_the_listed_api_with_the_secret() -> None:
    jira = FakeJira({("PUT", f"{JIRA_API_V1}/12"): V1_ITEM})
    hook = JiraWebhook(url=URL, events=("jira:issue_created", "jira:issue_updated"))
    request = JiraWebhookRequest(
        instance="dc1", op="update", webhook_id="12", api="v1", webhook=hook, secret="s3cr3t"
    )
    reply = await answer(jira, request)
    assert reply.error is None
    (method, path, body) = jira.calls[0]
    assert (method, path) == ("PUT", f"{JIRA_API_V1}/12")
    assert body == webhook_body(hook, "s3cr3t")
    assert body["secret"] == "s3cr3t"
    assert (body["enabled"], body["active"], body["excludeBody"]) == (True, True, False)
    assert "s3cr3t" not in repr(request)
