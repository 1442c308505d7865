"""User mapping: the three sources and their order, the fallback, the unmapped answer, the
e-mail cache and its TTL — pure decisions table-driven, then the registry on a real KV."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec
import pytest
from nats.aio.client import Client
from nats.js.kv import KeyValue
from pdjira_common import streams
from pdjira_common.config import MappingSettings, UserFallback
from pdjira_common.identity import SelfLinkRequest, WhoAmIReply
from pdjira_common.requests import JiraUser, PdUser, UserLookup
from pdjira_mapping.kvstore import TypedBucket
from pdjira_mapping.models import EmailEntry, ManualLink
from pdjira_mapping.reads import ReadFailed
from pdjira_mapping.registry import UserError, UserRegistry
from pdjira_mapping.users import choose, is_fresh, jira_by_email

PAT = PdUser(id="PUSER01", email="pat@example.com", name="Pat Oncall")
JPAT = JiraUser(name="pat", key="JIRAUSER10200", email="Pat@Example.com")
JDOE = JiraUser(name="jdoe", key="JIRAUSER10100", email="jdoe@example.com")
BOT = JiraUser(name="pdjira", key="pdjira")
MANUAL = ManualLink(account="a", instance="i", pd_user=PAT, jira_user=JDOE, linked_at="t")
HIT = EmailEntry(pd_user=PAT, jira_user=JPAT, found=True, reason="same e-mail", cached_at=0)
MISS = EmailEntry(pd_user=PAT, found=False, reason="no Jira user with e-mail", cached_at=0)
FALLBACK = UserFallback(account="a", instance="i", jira_user="pdjira", pd_user_id="PUSER02")


@pytest.mark.parametrize(
    ("manual", "email", "fallback", "error", "source", "jira", "reason"),
    [
        pytest.param(MANUAL, HIT, FALLBACK, None, "manual", JDOE, "linked", id="manual-first"),
        pytest.param(MANUAL, None, None, "down", "manual", JDOE, "linked", id="manual-no-read"),
        pytest.param(None, HIT, FALLBACK, None, "email", JPAT, "same e-mail", id="email-second"),
        pytest.param(None, MISS, FALLBACK, None, "fallback", BOT, "no Jira user", id="fallback"),
        pytest.param(None, None, FALLBACK, None, "fallback", BOT, "not mapped", id="fb-no-email"),
        pytest.param(
            None, MISS, None, None, None, None, "no fallback user is configured", id="unmapped"
        ),
        pytest.param(
            None, None, FALLBACK, "jira-writer did not answer", None, None,
            "e-mail lookup failed: jira-writer did not answer", id="read-error-is-not-a-miss",
        ),
    ],
)  # fmt: skip
def test_sources_in_order(
    manual: ManualLink | None,
    email: EmailEntry | None,
    fallback: UserFallback | None,
    error: str | None,
    source: str | None,
    jira: JiraUser | None,
    reason: str,
) -> None:
    reply = choose("pd", manual=manual, email=email, fallback=fallback, email_error=error)
    assert reply.source == source
    assert reply.jira_user == jira
    assert reason in reply.reason
    assert (reply.error is not None) == (error is not None and manual is None)


def test_fallback_on_the_pagerduty_side() -> None:
    miss = EmailEntry(jira_user=JDOE, found=False, reason="no PagerDuty user", cached_at=0)
    reply = choose("jira", manual=None, email=miss, fallback=FALLBACK)
    assert reply.source == "fallback"
    assert reply.pd_user == PdUser(id="PUSER02")
    assert reply.jira_user == JDOE


@pytest.mark.parametrize(
    ("users", "email", "found", "reason"),
    [
        pytest.param((JDOE, JPAT), "pat@example.com", JPAT, "", id="case-insensitive"),
        pytest.param((JDOE,), "pat@example.com", None, "no Jira user with e-mail", id="none"),
        pytest.param(
            (JiraUser(name="pat", key="K", email=None),), "pat@example.com", None,
            "or the e-mail is hidden", id="hidden-email-is-a-miss",
        ),
        pytest.param(
            # user/search also matches names: "pat" in a name is not the e-mail
            (JiraUser(name="pat@example.com", key="K2", email="other@example.com"),),
            "pat@example.com", None, "no Jira user", id="name-match-is-not-email",
        ),
        pytest.param(
            (JPAT, JiraUser(name="pat2", key="K3", email="pat@example.com")), "pat@example.com",
            None, "several Jira users", id="ambiguous",
        ),
    ],
)  # fmt: skip
def test_jira_by_email(
    users: tuple[JiraUser, ...], email: str, found: JiraUser | None, reason: str
) -> None:
    user, why = jira_by_email(users, email)
    assert user == found
    assert reason in why


@pytest.mark.parametrize(
    ("age", "ttl", "fresh"),
    [(0, 60, True), (59.9, 60, True), (60, 60, False), (-5, 60, False), (1, 0, False)],
)
def test_cache_freshness(age: float, ttl: float, fresh: bool) -> None:
    entry = EmailEntry(found=False, cached_at=1000.0)
    assert is_fresh(entry, now=1000.0 + age, ttl=ttl) is fresh


# ---------------------------------------------------------------- the registry on a real KV


@dataclass
class FakeReads:
    """The writers' reads: PagerDuty users by id and e-mail, Jira users by query."""

    pd: dict[str, PdUser] = field(default_factory=dict)
    jira: list[JiraUser] = field(default_factory=list)
    down: bool = False
    calls: list[str] = field(default_factory=list)
    pd_tokens: dict[str, PdUser] = field(default_factory=dict)  # a person's user API key
    jira_tokens: dict[str, JiraUser] = field(default_factory=dict)  # a person's PAT

    async def pd_user(self, account: str, user_id: str) -> PdUser | None:
        self._call(f"pd_user {user_id}")
        return self.pd.get(user_id)

    async def pd_user_by_email(self, account: str, email: str) -> PdUser | None:
        self._call(f"pd_by_email {email}")
        return next((u for u in self.pd.values() if u.email == email), None)

    async def jira_users(self, instance: str, query: str) -> tuple[JiraUser, ...]:
        # As Jira's user search: username, name or e-mail, never the key.
        self._call(f"jira_users {query}")
        q = query.casefold()
        return tuple(
            u
            for u in self.jira
            if q in u.name.casefold()
            or q in (u.display_name or "").casefold()
            or q in (u.email or "").casefold()
        )

    async def jira_user_by_key(self, instance: str, key: str) -> JiraUser | None:
        self._call(f"jira_user_by_key {key}")
        return next((u for u in self.jira if u.key == key), None)

    async def pd_whoami(self, account: str, token: str) -> WhoAmIReply:
        self._call(f"pd_whoami {account}")
        user = self.pd_tokens.get(token)
        return _whoami(user and WhoAmIReply(pd_user=user), "PagerDuty refused the API key (401)")

    async def jira_whoami(self, instance: str, token: str) -> WhoAmIReply:
        self._call(f"jira_whoami {instance}")
        user = self.jira_tokens.get(token)
        return _whoami(user and WhoAmIReply(jira_user=user), "Jira refused the token (401)")

    def _call(self, what: str) -> None:
        self.calls.append(what)
        if self.down:
            raise ReadFailed("no jira-writer answers reads.jira.i.users_by_email; is it running?")


def _whoami(found: WhoAmIReply | None, refused: str) -> WhoAmIReply:
    """The fake's answer: whose the token is, or the vendor's refusal."""
    return found or WhoAmIReply(problem="refused", error=refused)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


MakeRegistry = Callable[..., Awaitable[UserRegistry]]


@pytest.fixture
def make_registry(nc: Client) -> MakeRegistry:
    async def make(
        reads: FakeReads, clock: Clock, *, ttl: float = 600.0, fallback: bool = False
    ) -> UserRegistry:
        kv = await nc.jetstream().key_value(streams.KV_USERS)

        async def open_bucket() -> KeyValue:
            return kv

        settings = MappingSettings(email_cache_ttl=ttl, fallbacks=(FALLBACK,) if fallback else ())
        return UserRegistry(
            TypedBucket(open_bucket, ManualLink),
            TypedBucket(open_bucket, EmailEntry),
            reads,
            settings,
            clock=clock,
        )

    return make


def pd_query(user: str = "PUSER01") -> UserLookup:
    return UserLookup(account="a", instance="i", pd_user_id=user)


async def test_manual_link_wins_over_email(make_registry: MakeRegistry) -> None:
    reads = FakeReads(pd={"PUSER01": PAT}, jira=[JPAT, JDOE])
    registry = await make_registry(reads, Clock())
    await registry.link("a", "i", "PUSER01", "jdoe")
    reads.calls.clear()

    reply = await registry.lookup(pd_query())
    assert (reply.source, reply.jira_user) == ("manual", JDOE)
    assert reads.calls == []  # a manual link needs no read
    back = await registry.lookup(
        UserLookup(account="a", instance="i", jira_user_key="JIRAUSER10100")
    )
    assert (back.source, back.pd_user) == ("manual", PAT)
    # other account/instance pairs do not see it
    other = await registry.lookup(UserLookup(account="b", instance="i", pd_user_id="PUSER01"))
    assert other.source == "email"


async def test_email_hit_is_cached_until_the_ttl(make_registry: MakeRegistry) -> None:
    reads = FakeReads(pd={"PUSER01": PAT}, jira=[JPAT])
    clock = Clock()
    registry = await make_registry(reads, clock, ttl=60.0)

    first = await registry.lookup(pd_query())
    assert (first.source, first.jira_user) == ("email", JPAT)
    assert reads.calls == ["pd_user PUSER01", "jira_users pat@example.com"]
    clock.now += 59
    assert (await registry.lookup(pd_query())).jira_user == JPAT
    assert len(reads.calls) == 2  # served from the cache
    # the Jira user changes e-mail; after the TTL the lookup is made again
    reads.jira = [JiraUser(name="pat", key="JIRAUSER10200", email="p@elsewhere.org")]
    clock.now += 2
    assert (await registry.lookup(pd_query())).source is None
    assert len(reads.calls) == 4


async def test_a_miss_is_cached_too(make_registry: MakeRegistry) -> None:
    reads = FakeReads(pd={"PUSER01": PAT}, jira=[JDOE])  # no Jira user with pat's e-mail
    clock = Clock()
    registry = await make_registry(reads, clock, ttl=60.0)

    miss = await registry.lookup(pd_query())
    assert miss.source is None
    assert "no Jira user with e-mail pat@example.com" in miss.reason
    assert "no fallback user is configured" in miss.reason
    assert miss.error is None
    await registry.lookup(pd_query())
    assert len(reads.calls) == 2
    reads.jira.append(JPAT)  # the user appears in Jira: found once the miss expires
    clock.now += 61
    assert (await registry.lookup(pd_query())).source == "email"


async def test_hidden_email_is_a_miss_and_falls_back(make_registry: MakeRegistry) -> None:
    hidden = JiraUser(name="pat", key="JIRAUSER10200", email=None)
    reads = FakeReads(pd={"PUSER01": PAT}, jira=[hidden])
    registry = await make_registry(reads, Clock(), fallback=True)
    reply = await registry.lookup(pd_query())
    assert reply.source == "fallback"
    assert reply.jira_user == BOT
    assert "or the e-mail is hidden" in reply.reason


async def test_unknown_pagerduty_user_and_user_without_email(make_registry: MakeRegistry) -> None:
    reads = FakeReads(pd={"PNOMAIL": PdUser(id="PNOMAIL")}, jira=[JPAT])
    registry = await make_registry(reads, Clock())
    assert "PagerDuty user PGHOST not found" in (await registry.lookup(pd_query("PGHOST"))).reason
    assert "has no e-mail" in (await registry.lookup(pd_query("PNOMAIL"))).reason


async def test_writers_not_answering_is_an_error_not_a_miss(make_registry: MakeRegistry) -> None:
    reads = FakeReads(pd={"PUSER01": PAT}, jira=[JPAT], down=True)
    registry = await make_registry(reads, Clock(), fallback=True)

    reply = await registry.lookup(pd_query())
    assert reply.source is None  # not the fallback: the person may well be mapped
    assert reply.error is not None
    assert "is it running?" in reply.error
    reads.down = False  # nothing was cached: the next lookup asks again and finds the user
    assert (await registry.lookup(pd_query())).source == "email"


async def test_jira_user_to_pagerduty_by_email(make_registry: MakeRegistry) -> None:
    pat = PdUser(id="PUSER01", email="Pat@Example.com")
    reads = FakeReads(pd={"PUSER01": pat}, jira=[JPAT])
    registry = await make_registry(reads, Clock())
    query = UserLookup(
        account="a", instance="i", jira_user_key="JIRAUSER10200", jira_user_name="pat"
    )
    reply = await registry.lookup(query)
    assert (reply.source, reply.pd_user, reply.jira_user) == ("email", pat, JPAT)


async def test_manual_link_is_checked_and_one_to_one(make_registry: MakeRegistry) -> None:
    reads = FakeReads(pd={"PUSER01": PAT, "PUSER02": PdUser(id="PUSER02")}, jira=[JPAT, JDOE])
    registry = await make_registry(reads, Clock())
    with pytest.raises(UserError, match="PagerDuty user PNOPE not found"):
        await registry.link("a", "i", "PNOPE", "jdoe")
    with pytest.raises(UserError, match="Jira user 'ghost' not found"):
        await registry.link("a", "i", "PUSER01", "ghost")
    await registry.link("a", "i", "PUSER01", "jdoe")
    with pytest.raises(UserError, match="already linked to PagerDuty user PUSER01"):
        await registry.link("a", "i", "PUSER02", "jdoe")
    # relinking PUSER01 to another Jira user frees jdoe
    await registry.link("a", "i", "PUSER01", "pat")
    await registry.link("a", "i", "PUSER02", "jdoe")
    links = await registry.manual_links("a", "i")
    assert [(x.pd_user.id, x.jira_user.name) for x in links] == [
        ("PUSER01", "pat"),
        ("PUSER02", "jdoe"),
    ]
    removed = await registry.unlink("a", "i", "PUSER02")
    assert removed is not None
    assert await registry.unlink("a", "i", "PUSER02") is None
    assert [x.pd_user.id for x in await registry.manual_links(None, None)] == ["PUSER01"]


async def test_manual_links_under_the_older_key_form_are_moved_at_start(
    make_registry: MakeRegistry, nc: Client
) -> None:
    """Before key tokens were bounded, a Jira user key like ``john.doe`` was stored under
    ``john_doe``: such links are moved to today's key and found again."""
    john = JiraUser(name="john.doe", key="john.doe", email="john@example.com")
    link = ManualLink(account="a", instance="i", pd_user=PAT, jira_user=john, linked_at="t")
    kv = await nc.jetstream().key_value(streams.KV_USERS)
    await kv.put("manual.pd.a.i.PUSER01", msgspec.json.encode(link))
    await kv.put("manual.jira.a.i.john_doe", msgspec.json.encode(link))  # the older form
    registry = await make_registry(FakeReads(pd={"PUSER01": PAT}, jira=[john]), Clock())

    assert await registry.rekey_manual_links() == 1
    back = await registry.lookup(UserLookup(account="a", instance="i", jira_user_key="john.doe"))
    assert (back.source, back.pd_user) == ("manual", PAT)
    assert await registry.rekey_manual_links() == 0  # once moved, nothing more to do


# ---------------------------------------------------------------- Jira users by key, self-link


async def test_a_jira_user_known_only_by_key_is_found_by_key_then_mapped_by_email(
    make_registry: MakeRegistry,
) -> None:
    """What pd-writer asks for a comment's author: the key alone (the search never matches
    keys); mapped by the same e-mail, with the display name for attributions."""
    jo = JiraUser(name="jo", key="JIRAUSER10300", email="jo@example.com", display_name="Jo Ng")
    pd_jo = PdUser(id="PJO", email="jo@example.com", name="Jo Ng")
    reads = FakeReads(pd={"PJO": pd_jo}, jira=[jo])
    registry = await make_registry(reads, Clock())

    reply = await registry.lookup(
        UserLookup(account="a", instance="i", jira_user_key="JIRAUSER10300")
    )

    assert (reply.source, reply.pd_user, reply.jira_user) == ("email", pd_jo, jo)
    assert "jira_user_by_key JIRAUSER10300" in reads.calls
    # a login that is stale (renamed) still finds the user through the key
    reads.calls.clear()
    clock = Clock()
    clock.now += 10_000
    fresh = await make_registry(reads, clock, ttl=1.0)
    again = await fresh.lookup(
        UserLookup(account="a", instance="i", jira_user_key="JIRAUSER10300", jira_user_name="old")
    )
    assert again.source == "email"
    assert reads.calls[:2] == ["jira_users old", "jira_user_by_key JIRAUSER10300"]


def self_link(pd_token: str = "pd-user-key", jira_token: str = "jira-pat") -> SelfLinkRequest:  # noqa: S107
    return SelfLinkRequest(account="a", instance="i", pd_token=pd_token, jira_token=jira_token)


async def test_self_link_proves_both_users_and_links_them(make_registry: MakeRegistry) -> None:
    reads = FakeReads(pd_tokens={"pd-user-key": PAT}, jira_tokens={"jira-pat": JDOE})
    registry = await make_registry(reads, Clock())

    link = await registry.self_link(self_link())

    assert (link.pd_user, link.jira_user) == (PAT, JDOE)
    back = await registry.lookup(
        UserLookup(account="a", instance="i", jira_user_key="JIRAUSER10100")
    )
    assert (back.source, back.pd_user) == ("manual", PAT)
    assert (await registry.self_link(self_link())) == link  # idempotent


async def test_self_link_refuses_bad_tokens_and_someone_elses_link(
    make_registry: MakeRegistry,
) -> None:
    other = PdUser(id="PJO", email="jo@example.com")
    reads = FakeReads(
        pd={"PJO": other},
        jira=[JDOE],
        pd_tokens={"pd-user-key": PAT, "jo-key": other},
        jira_tokens={"jira-pat": JDOE},
    )
    registry = await make_registry(reads, Clock())

    with pytest.raises(UserError, match="PagerDuty refused the API key"):
        await registry.self_link(self_link(pd_token="wrong"))
    with pytest.raises(UserError, match="Jira refused the token"):
        await registry.self_link(self_link(jira_token="wrong"))
    await registry.link("a", "i", "PJO", "jdoe")  # an admin linked jdoe to Jo
    with pytest.raises(UserError, match="Jira user jdoe is already linked to PagerDuty user PJO"):
        await registry.self_link(self_link())
    assert (await registry.lookup(pd_query("PUSER01"))).source != "manual"
