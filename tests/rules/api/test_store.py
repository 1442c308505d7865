"""The KV-backed rule store: config seeding, hot reload across replicas, bad values skipped."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from nats.aio.client import Client
from pdjira_common import streams
from pdjira_common.config import SyncRule
from pdjira_rules.rule_loading import load_config_rules
from pdjira_rules.rule_model import StoredRule

from .conftest import StoreFactory, until
from .test_loading import ACCOUNTS, INSTANCES, pd_rule, wrapper

_decode = msgspec.json.Decoder(StoredRule)


def config_rules(*names: str, **extra: object) -> tuple[StoredRule, ...]:
    raw = [{"rule": pd_rule(name), **extra} for name in names]
    return load_config_rules(raw, ACCOUNTS, INSTANCES)


async def stored(nc: Client, key: str) -> StoredRule:
    kv = await nc.jetstream().key_value(streams.KV_RULES)
    return _decode.decode((await kv.get(key)).value)


async def test_config_rules_are_seeded_and_follow_the_file(
    nc: Client, make_store: StoreFactory
) -> None:
    first = await make_store(config_rules("Ops", "Sev1"))
    assert [r.id for r in first.current()] == ["cfg-ops", "cfg-sev1"]
    created = (await stored(nc, "cfg-ops")).wrapped.rule.created_at
    assert created is not None
    revision = (await (await nc.jetstream().key_value(streams.KV_RULES)).get("cfg-ops")).revision
    api_rule = await first.create(load_config_rules([wrapper()], ACCOUNTS, INSTANCES)[0].wrapped)
    await first.stop()

    # Next start: Ops unchanged (not rewritten), Sev1 changed, Gone removed from the file.
    second = await make_store(config_rules("Ops", "Sev1 changed"))
    kv = await nc.jetstream().key_value(streams.KV_RULES)
    assert (await kv.get("cfg-ops")).revision == revision
    assert (await stored(nc, "cfg-ops")).wrapped.rule.created_at == created
    ids = [r.id for r in second.current()]
    assert "cfg-sev1" not in ids  # config rule removed from the file: deleted
    assert {"cfg-ops", "cfg-sev1-changed", api_rule.id} == set(ids)  # API rules stay

    await second.stop()
    changed = config_rules("Ops", sync_priority=False)
    third = await make_store(changed)
    ops = third.get("cfg-ops")
    assert ops is not None
    assert ops.wrapped.sync_priority is False
    assert (await stored(nc, "cfg-ops")).wrapped.rule.created_at == created  # kept


async def test_a_write_through_one_replica_is_seen_by_the_other(
    make_store: StoreFactory,
) -> None:
    one = await make_store()
    two = await make_store()
    base = load_config_rules([wrapper()], ACCOUNTS, INSTANCES)[0].wrapped
    created = await one.create(base)
    assert one.get(created.id) == created  # at once on the writer
    await until(lambda: two.get(created.id) is not None, what="the create on two", timeout=1.0)

    renamed = msgspec.structs.replace(base, rule=msgspec.structs.replace(base.rule, name="New"))
    replaced = await two.replace(created.id, renamed)
    assert replaced is not None
    assert replaced.wrapped.rule.created_at == created.wrapped.rule.created_at

    def renamed_on_one() -> bool:
        rule = one.get(created.id)
        return rule is not None and rule.name == "New"

    await until(renamed_on_one, what="the rename on one", timeout=1.0)
    assert await one.delete(created.id) is not None
    await until(lambda: two.get(created.id) is None, what="the delete on two", timeout=1.0)
    assert await two.delete(created.id) is None
    assert await two.replace(created.id, renamed) is None


async def test_current_is_ordered_by_created_at_then_id(make_store: StoreFactory) -> None:
    store = await make_store()
    base = load_config_rules([wrapper()], ACCOUNTS, INSTANCES)[0].wrapped
    made = [await store.create(base) for _ in range(4)]
    assert [r.id for r in store.current()] == [
        r.id for r in sorted(made, key=lambda r: (r.wrapped.rule.created_at, r.id))
    ]
    early = config_rules("Early")[0]
    early_rule = msgspec.structs.replace(
        early.wrapped.rule, created_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    seeded = await make_store(
        (
            msgspec.structs.replace(
                early, wrapped=msgspec.structs.replace(early.wrapped, rule=early_rule)
            ),
        )
    )
    assert seeded.current()[0].id == "cfg-early"


async def test_a_value_that_is_not_a_rule_is_skipped(nc: Client, make_store: StoreFactory) -> None:
    store = await make_store(config_rules("Ops"))
    kv = await nc.jetstream().key_value(streams.KV_RULES)
    await kv.put("garbage", b"{not json")
    await kv.put("cfg-ops", b'{"id": "cfg-ops", "source": "config"}')  # no wrapped rule
    base = load_config_rules([wrapper()], ACCOUNTS, INSTANCES)[0].wrapped
    # the watcher keeps going: a later good write is applied
    other = await (await make_store()).create(base)
    await until(
        lambda: store.get(other.id) is not None, what="the good write after bad ones", timeout=1.0
    )
    assert store.get("garbage") is None
    assert store.get("cfg-ops") is None
    assert [r.id for r in store.current()] == [other.id]
    # a fresh replica loads around the bad values too
    fresh = await make_store()
    assert [r.id for r in fresh.current()] == [other.id]


async def test_config_rules_come_first_in_file_order_simple_rules_before_the_others(
    make_store: StoreFactory,
) -> None:
    first = await make_store()
    api_rule = await first.create(load_config_rules([wrapper()], ACCOUNTS, INSTANCES)[0].wrapped)
    await first.stop()
    simple = SyncRule(name="simple", account="acme", instance="dc1", project="OPS", issue_type="T")
    loaded = load_config_rules(
        [{"rule": pd_rule("Sev1")}], ACCOUNTS, INSTANCES, simple_rules=(simple,)
    )
    store = await make_store(loaded)
    assert [r.id for r in store.current()] == ["cfg-simple", "cfg-sev1", api_rule.id]
    await store.stop()

    # The file reordered: the stored rules follow (their place is rewritten).
    reordered = load_config_rules(
        [{"rule": pd_rule("Other")}, {"rule": pd_rule("Sev1")}], ACCOUNTS, INSTANCES
    )
    again = await make_store(reordered)
    assert [r.id for r in again.current()] == ["cfg-other", "cfg-sev1", api_rule.id]
