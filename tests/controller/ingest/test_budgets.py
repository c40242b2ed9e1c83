"""Per-device token buckets: bursts, quarantine with one callback, recovery, and defaults that hold
an honest agent's whole store-and-forward outbox."""

from __future__ import annotations

from station_agent.config import OutboxSettings
from station_controller.ingest.budgets import BudgetLimits, DeviceBudgets, Quarantine
from station_controller.ingest.runtime import budget_limits
from station_controller.settings import Settings
from tests.fakes.clock import SecondsClock

LIMITS = BudgetLimits(
    messages_per_s=2.0, message_burst=5, bytes_per_s=100.0, byte_burst=1000, quarantine_s=60.0
)


def _budgets() -> tuple[DeviceBudgets, SecondsClock, list[Quarantine]]:
    clock = SecondsClock(100.0)
    events: list[Quarantine] = []
    return DeviceBudgets(LIMITS, on_quarantine=events.append, clock=clock), clock, events


def test_burst_is_admitted_and_the_first_excess_quarantines_once() -> None:
    budgets, clock, events = _budgets()
    assert [budgets.admit("stb-a", 10) for _ in range(5)] == [True] * 5
    assert budgets.admit("stb-a", 10) is False
    assert [(e.device_id, e.reason) for e in events] == [("stb-a", "messages")]
    clock.now += 30.0  # the bucket refilled, but the quarantine still holds
    assert budgets.admit("stb-a", 10) is False
    assert len(events) == 1
    assert budgets.quarantined() == ["stb-a"]


def test_quarantine_ends_and_the_device_is_admitted_again() -> None:
    budgets, clock, events = _budgets()
    for _ in range(6):
        budgets.admit("stb-a", 10)
    clock.now += 61.0
    assert budgets.admit("stb-a", 10) is True
    assert budgets.quarantined() == []


def test_bytes_are_budgeted_too() -> None:
    budgets, _clock, events = _budgets()
    assert budgets.admit("stb-a", 900) is True
    assert budgets.admit("stb-a", 200) is False
    assert [e.reason for e in events] == ["bytes"]


def test_one_device_over_budget_leaves_the_others_alone() -> None:
    budgets, _clock, _events = _budgets()
    for _ in range(10):
        budgets.admit("stb-flood", 10)
    assert [budgets.admit("stb-honest", 10) for _ in range(5)] == [True] * 5


def test_sustained_rate_is_refilled_over_time() -> None:
    budgets, clock, _events = _budgets()
    for _ in range(5):
        assert budgets.admit("stb-a", 10)
    for _ in range(20):  # 2 msg/s allowed: one message every 0.5 s never runs out
        clock.now += 0.5
        assert budgets.admit("stb-a", 10)


def test_default_bursts_hold_a_full_agent_outbox() -> None:
    limits = budget_limits(Settings(secret_key="x" * 32, mqtt_password="y" * 24))  # type: ignore[arg-type]
    outbox = OutboxSettings()
    assert limits.message_burst >= outbox.max_messages
    assert limits.byte_burst >= outbox.max_bytes
