"""EnforcerLoop scheduling: it wakes just after the next session deadline, never later than the interval."""

from __future__ import annotations

import threading
from typing import Any, List, Optional

import pytest

from station_agent.config import GatewaySettings
from station_agent.gateway.build import build_enforcer
from station_agent.gateway.enforcer import DEADLINE_SLACK_S, EnforcerLoop
from station_agent.gateway.gateway import Gateway
from station_agent.gateway.validate import parse_allow
from tests.support import wait_until

from .fakes import FakeClock

MAC, IP = "02:aa:bb:cc:dd:01", "10.77.1.2"
DEFAULT_CHECK_S = GatewaySettings().check_interval_s


def allow(gw: Gateway, clock: FakeClock, session_id: str = "s-1", **changes: Any) -> None:
    args = {"session_id": session_id, "mac": MAC, "ip": IP, "expires_at": clock() + 3600_000,
            "idle_timeout_s": 0, "up_kbps": 0, "down_kbps": 0, "quota_bytes": 0, **changes}  # fmt: skip
    gw.allow(parse_allow(args))


def loop_for(gw: Gateway, check_s: float = DEFAULT_CHECK_S) -> EnforcerLoop:
    return EnforcerLoop(gw, check_interval_s=check_s, accounting_interval_s=60)


def test_without_sessions_it_sleeps_the_interval(gateway: Gateway) -> None:
    assert gateway.seconds_to_deadline() is None
    assert loop_for(gateway).delay() == DEFAULT_CHECK_S


def test_wakes_just_after_an_expiry_that_comes_before_the_interval(
    gateway: Gateway, clock: FakeClock
) -> None:
    allow(gateway, clock, expires_at=clock() + 60_000)
    loop = loop_for(gateway)
    assert loop.delay() == DEFAULT_CHECK_S  # expiry far away: the regular quota/traffic round
    clock.advance(57.5)
    assert loop.delay() == pytest.approx(2.5 + DEADLINE_SLACK_S)
    clock.advance(2.5 + DEADLINE_SLACK_S)  # the loop slept exactly that long
    assert gateway.enforce() == 1  # ... and the round then cuts it: 50 ms after expiry, not up to 5 s
    assert loop.delay() == DEFAULT_CHECK_S


def test_the_earliest_deadline_wins_idle_included(gateway: Gateway, clock: FakeClock) -> None:
    allow(gateway, clock, "s-1", expires_at=clock() + 4_000)
    allow(gateway, clock, "s-2", mac="02:aa:bb:cc:dd:02", ip="10.77.1.3", expires_at=clock() + 3_000)
    allow(gateway, clock, "s-3", mac="02:aa:bb:cc:dd:03", ip="10.77.1.4", idle_timeout_s=2)
    assert gateway.seconds_to_deadline() == pytest.approx(2.0)
    assert loop_for(gateway).delay() == pytest.approx(2.0 + DEADLINE_SLACK_S)


def test_an_overdue_deadline_is_retried_without_spinning(gateway: Gateway, clock: FakeClock) -> None:
    allow(gateway, clock, expires_at=clock() + 1_000)
    clock.advance(3)  # e.g. the last round failed (nft error) and the session is still there
    assert loop_for(gateway).delay() == 1.0
    assert loop_for(gateway, check_s=0.5).delay() == 0.5


class Target:
    """Counts rounds; its deadline is set by the test (seconds from 'now', real time)."""

    def __init__(self) -> None:
        self.rounds: List[float] = []
        self.deadline: Optional[float] = None
        self.asked = 0

    def enforce(self) -> int:
        self.rounds.append(1.0)
        self.deadline = None
        return 1

    def account(self) -> int:
        return 0

    def seconds_to_deadline(self) -> Optional[float]:
        self.asked += 1
        return self.deadline


def run_loop(loop: EnforcerLoop) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=loop.run, args=(stop,), daemon=True).start()
    return stop


def test_run_enforces_at_the_deadline_even_with_a_long_interval() -> None:
    target = Target()
    target.deadline = 0.2
    stop = run_loop(EnforcerLoop(target, check_interval_s=3600, accounting_interval_s=3600))
    try:
        wait_until(lambda: target.rounds, timeout=30, message="round at the deadline (interval 1 h)")
    finally:
        stop.set()


def test_wake_replans_for_a_session_added_while_sleeping() -> None:
    target = Target()
    loop = EnforcerLoop(target, check_interval_s=3600, accounting_interval_s=3600)
    stop = run_loop(loop)
    try:
        wait_until(lambda: target.asked, timeout=30, message="loop planned its first sleep (1 h)")
        target.deadline = 0.1  # a new session with a near deadline, announced by the gateway
        loop.wake()
        wait_until(lambda: target.rounds, timeout=30, message="round after wake (interval 1 h)")
    finally:
        stop.set()


def test_build_enforcer_wires_the_gateway_to_wake_the_loop(gateway: Gateway, clock: FakeClock) -> None:
    loop = build_enforcer(GatewaySettings(), gateway)
    assert gateway.on_sessions_changed == loop.wake
    woken: List[str] = []
    gateway.on_sessions_changed = lambda: woken.append("changed")
    allow(gateway, clock)
    gateway.extend("s-1", clock() + 10_000, 0)
    assert woken == ["changed", "changed"]
