"""enforcer + gateway: expiry / quota / idle decided locally from nft counters and a fake clock."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from station_agent.gateway.enforcer import ACCOUNTING_CHUNK, EnforcerLoop, accounting_details, decide
from station_agent.gateway.gateway import Gateway
from station_agent.gateway.sessions import Session
from station_agent.gateway.validate import parse_allow
from station_agent.outbox import Outbox

from .conftest import events
from .fakes import FakeClock, FakeNft, FakeTc

MAC, IP = "02:aa:bb:cc:dd:01", "10.77.1.2"


def allow(gw: Gateway, clock: FakeClock, **changes: Any) -> None:
    args = {
        "session_id": "s-1",
        "mac": MAC,
        "ip": IP,
        "expires_at": clock() + 3600_000,
        "idle_timeout_s": 0,
        "up_kbps": 1000,
        "down_kbps": 2000,
        "quota_bytes": 0,
        **changes,
    }
    gw.allow(parse_allow(args))


SESSION = Session("s", MAC, IP, expires_at=10_000, idle_timeout_s=60, up_kbps=0, down_kbps=0,
                  quota_bytes=1000, class_id=16, last_activity_ms=0)  # fmt: skip


def test_decide_pure_rules() -> None:
    assert decide(SESSION, 9_999) is None
    assert decide(SESSION, 10_000) == "expired"
    assert decide(replace(SESSION, base_up=600, live_down=400), 5_000) == "quota"
    assert decide(replace(SESSION, expires_at=10**9), 60_000) == "idle"
    assert decide(replace(SESSION, expires_at=10**9, idle_timeout_s=0, quota_bytes=0), 10**8) is None


def test_allow_adds_elements_and_classes(
    gateway: Gateway, nft: FakeNft, tc: FakeTc, clock: FakeClock
) -> None:
    allow(gateway, clock)
    assert nft.up == {(MAC, IP): 0}
    assert nft.down == {IP: 0}
    assert tc.client_classes() == {("br-lan", "1:10"): "2000kbit", ("sfifb0", "1:10"): "1000kbit"}
    assert not any("delete table" in s for s in nft.scripts[1:])  # a login never reloads the table


def test_expiry_ends_session_and_queues_event(
    gateway: Gateway, nft: FakeNft, tc: FakeTc, clock: FakeClock, outbox: Outbox
) -> None:
    allow(gateway, clock, expires_at=clock() + 60_000)
    nft.up[(MAC, IP)], nft.down[IP] = 1200, 34000
    clock.advance(59)
    assert gateway.enforce() == 0
    clock.advance(1)
    assert gateway.enforce() == 1
    assert nft.up == {}
    assert tc.client_classes() == {}
    (ended,) = events(outbox, "portal.session_ended")
    assert ended == {"session_id": "s-1", "mac": MAC, "ip": IP, "reason": "expired",
                     "bytes_up": 1200, "bytes_down": 34000, "ended_at": clock()}  # fmt: skip
    assert gateway.sessions.all() == []


def test_quota_counts_both_directions(
    gateway: Gateway, nft: FakeNft, clock: FakeClock, outbox: Outbox
) -> None:
    allow(gateway, clock, quota_bytes=10_000)
    nft.up[(MAC, IP)], nft.down[IP] = 4_000, 5_999
    assert gateway.enforce() == 0
    nft.down[IP] = 6_000
    assert gateway.enforce() == 1
    assert events(outbox, "portal.session_ended")[0]["reason"] == "quota"


def test_idle_uses_last_counter_change(
    gateway: Gateway, nft: FakeNft, clock: FakeClock, outbox: Outbox
) -> None:
    allow(gateway, clock, idle_timeout_s=300)
    clock.advance(200)
    nft.up[(MAC, IP)] = 100  # activity at t=200
    gateway.enforce()
    clock.advance(299)
    assert gateway.enforce() == 0
    clock.advance(1)
    assert gateway.enforce() == 1
    assert events(outbox, "portal.session_ended")[0]["reason"] == "idle"


def test_lost_table_is_rebuilt_and_counters_survive(gateway: Gateway, nft: FakeNft, clock: FakeClock) -> None:
    allow(gateway, clock)
    nft.up[(MAC, IP)], nft.down[IP] = 500, 700
    gateway.enforce()
    nft.loaded, nft.up, nft.down = False, {}, {}  # someone ran "nft flush ruleset"
    gateway.enforce()
    assert nft.loaded
    assert nft.up == {(MAC, IP): 0}
    nft.up[(MAC, IP)], nft.down[IP] = 10, 20
    (row,) = gateway.list_sessions()
    assert (row["bytes_up"], row["bytes_down"]) == (510, 720)


def test_counter_reset_behind_our_back_keeps_totals(gateway: Gateway, nft: FakeNft, clock: FakeClock) -> None:
    allow(gateway, clock)
    nft.up[(MAC, IP)] = 900
    gateway.enforce()
    nft.up[(MAC, IP)] = 50  # element recreated elsewhere
    (row,) = gateway.list_sessions()
    assert row["bytes_up"] == 950


def test_accounting_chunks_and_loop_timing(gateway: Gateway, clock: FakeClock, outbox: Outbox) -> None:
    allow(gateway, clock)
    ticks = [0.0]
    loop = EnforcerLoop(gateway, check_interval_s=5, accounting_interval_s=60, monotonic=lambda: ticks[0])
    ticks[0] = 59.0
    loop.step()
    assert events(outbox, "portal.accounting") == []
    ticks[0] = 60.0
    loop.step()
    (detail,) = events(outbox, "portal.accounting")
    assert detail["sessions"][0]["session_id"] == "s-1"
    sessions = [replace(SESSION, session_id=f"s{i}") for i in range(ACCOUNTING_CHUNK + 1)]
    assert [len(d["sessions"]) for d in accounting_details(sessions)] == [ACCOUNTING_CHUNK, 1]
    assert accounting_details([]) == []


def test_enforcement_works_while_controller_unreachable(
    gateway: Gateway, nft: FakeNft, clock: FakeClock, outbox: Outbox
) -> None:
    # Nothing here talks to a broker: the event waits in the outbox until the link is back.
    allow(gateway, clock, expires_at=clock() + 1000)
    clock.advance(2)
    gateway.enforce()
    assert outbox.depth() == 1
