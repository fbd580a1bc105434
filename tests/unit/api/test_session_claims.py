"""The sessions topic's rules, without Kafka: the first claim of an id wins, an end applies
only for the owner and only once, and a compacted topic gives the same state as the full one."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from meterstream.api.records import SessionLog, SessionRecord, claim, end
from meterstream.state import LatestByKey, stable_partition

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def session(session_id: str, tenant: str, minutes: int = 0, by: str = "implicit") -> SessionRecord:
    return SessionRecord(session_id=session_id, tenant_id=tenant, started_at=T0 + timedelta(minutes=minutes),
                         started_by=by, user_id=f"user-of-{tenant}")


def replay(records: list[tuple[str, dict]]) -> SessionLog:
    log = SessionLog()
    for offset, (key, value) in enumerate(records):
        log.apply(key, value, 0, offset)
    return log


def compacted(records: list[tuple[str, dict | None]]) -> list[tuple[str, dict | None]]:
    """What log compaction leaves: the last record of each key, in its original place."""
    last = {key: index for index, (key, _) in enumerate(records)}
    return [record for index, record in enumerate(records) if last[record[0]] == index]


def test_the_first_claim_of_an_id_wins_and_later_ones_are_ignored() -> None:
    log = replay([claim(session("s1", "acme")), claim(session("s1", "globex")), claim(session("s1", "acme", 5))])
    winner = log.sessions["s1"]
    assert (winner.tenant_id, winner.started_at, winner.user_id) == ("acme", T0, "user-of-acme")
    assert log.newest("globex", 10) == [] and log.ignored == 2


def test_every_reader_computes_the_same_winner_whichever_claim_its_host_wrote() -> None:
    # Two hosts race for one id: whatever order the partition took them in, all readers agree.
    for first, second in (("acme", "globex"), ("globex", "acme")):
        records = [claim(session("race", first)), claim(session("race", second))]
        assert {replay(records).sessions["race"].tenant_id for _ in range(3)} == {first}


def test_an_end_applies_only_for_the_owner_and_the_first_end_time_stays() -> None:
    log = replay([
        claim(session("s1", "acme")),
        end("s1", "globex", T0 + timedelta(minutes=1)),  # not theirs: ignored
        end("s1", "acme", T0 + timedelta(minutes=2)),
        end("s1", "acme", T0 + timedelta(minutes=3)),  # two hosts ended it at once: the first stays
    ])
    assert log.sessions["s1"].ended_at == T0 + timedelta(minutes=2)


def test_an_end_before_any_claim_is_ignored() -> None:
    log = replay([end("s1", "acme", T0), claim(session("s1", "acme"))])
    assert log.sessions["s1"].active


def test_compaction_changes_no_winner_and_no_end_time() -> None:
    rng = random.Random(7)
    records: list[tuple[str, dict]] = []
    for n in range(300):
        sid = f"s{rng.randrange(40)}"
        tenant = rng.choice(["acme", "globex", "initech"])
        if rng.random() < 0.7:
            records.append(claim(session(sid, tenant, n)))
        else:
            records.append(end(sid, tenant, T0 + timedelta(minutes=n)))
    assert replay(compacted(records)).sessions == replay(records).sessions


def test_the_tenants_sessions_are_listed_newest_first() -> None:
    log = replay([claim(session(f"s{n}", "acme", n)) for n in (3, 1, 4, 2)] + [claim(session("x", "globex", 9))])
    assert [r.session_id for r in log.newest("acme", 3)] == ["s4", "s3", "s2"]


def test_a_tombstone_deletes_a_key_in_a_latest_by_key_table_and_nothing_in_the_session_log() -> None:
    table = LatestByKey()
    table.apply("k", {"v": 1}, 0, 0)
    table.apply("k", {"v": 2}, 0, 1)
    assert table.values == {"k": {"v": 2}}
    table.apply("k", None, 0, 2)
    assert table.values == {}
    log = replay([claim(session("s1", "acme"))])
    log.apply("s1/claim/x", None, 0, 1)
    assert "s1" in log.sessions


def test_a_partition_is_the_same_for_a_key_in_every_process() -> None:
    # CRC-32, not the per-process salted hash(): fixed values, so a change of function shows.
    assert [stable_partition(k, 4) for k in ("sess-42", "ses_0", "acme", "globex")] == [0, 1, 2, 2]
