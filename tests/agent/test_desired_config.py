"""Desired config: newer versions are validated and applied, older ones re-report the applied version."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest

from station_agent.desired_config import DesiredConfig
from station_agent.outbox import Outbox
from station_agent.state import StateStore
from station_agent.tunables import Tunables
from station_protocol import ConfigDesired, ConfigReported, decode, encode, make

from .conftest import DEVICE

TOPIC = f"st/v1/{DEVICE}/config/desired"


def desired_config(store: StateStore, tunables: Tunables) -> DesiredConfig:
    outbox = Outbox(store, max_messages=100, max_bytes=1 << 20)
    return DesiredConfig(device_id=DEVICE, store=store, outbox=outbox, tunables=tunables)


def reports(store: StateStore) -> list[ConfigReported]:
    rows = Outbox(store, max_messages=100, max_bytes=1 << 20).peek(100)
    assert all(row.retain and row.topic.endswith("/config/reported") for row in rows)
    return [decode(row.payload).body for row in rows]  # type: ignore[misc]


def payload(version: int, config: Dict[str, Any]) -> bytes:
    return encode(make(DEVICE, ConfigDesired(version=version, config=config)))


def test_newer_version_is_applied_at_once_persisted_and_reported(
    store: StateStore, tunables: Tunables
) -> None:
    handler = desired_config(store, tunables)
    report = handler.handle(TOPIC, payload(3, {"telemetry": {"interval_s": 5}}))
    assert report == ConfigReported(version=3, status="applied")
    assert tunables.telemetry_interval_s == 5.0
    assert tunables.changed.is_set()
    assert handler.applied_version == 3
    assert reports(store) == [report]


def test_same_or_older_version_is_ignored_and_the_applied_one_reported(
    store: StateStore, tunables: Tunables
) -> None:
    handler = desired_config(store, tunables)
    handler.offer(ConfigDesired(version=5, config={"telemetry.interval_s": 7}))
    for version in (5, 4):
        assert handler.offer(
            ConfigDesired(version=version, config={"telemetry.interval_s": 99})
        ) == ConfigReported(version=5, status="applied")
    assert tunables.telemetry_interval_s == 7.0


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"telemetry": {"interval_s": 0}}, "telemetry.interval_s: must be a number between 1 and 86400"),
        ({"telemetry.interval_s": "fast"}, "telemetry.interval_s: must be a number"),
        ({"captive": {"enabled": True}}, "unknown key 'captive.enabled'"),
        ({"portal": {"enabled": True}}, "portal: this agent is not a router"),  # this one is an STB
        ({"log_level": "LOUD"}, "log_level: must be one of"),
    ],
)
def test_invalid_version_is_rejected_and_nothing_changes(
    store: StateStore, tunables: Tunables, config: Dict[str, Any], error: str
) -> None:
    handler = desired_config(store, tunables)
    report = handler.offer(ConfigDesired(version=2, config=config))
    assert (report.version, report.status) == (2, "rejected")
    assert report.error is not None
    assert error in report.error
    assert (handler.applied_version, tunables.telemetry_interval_s) == (0, 30.0)


def test_applied_config_is_restored_after_a_restart(state_path: Path) -> None:
    first = StateStore.open(state_path)
    desired_config(first, Tunables(telemetry_interval_s=30, command_timeout_s=30)).offer(
        ConfigDesired(version=9, config={"telemetry.interval_s": 12, "commands.default_timeout_s": 45})
    )
    first.close()
    second = StateStore.open(state_path)
    tunables = Tunables(telemetry_interval_s=30, command_timeout_s=30)
    handler = desired_config(second, tunables)
    handler.restore()
    assert (handler.applied_version, tunables.telemetry_interval_s, tunables.command_timeout_s) == (
        9,
        12.0,
        45.0,
    )
    second.close()


def test_a_key_left_out_of_a_newer_version_returns_to_the_file_default(
    store: StateStore, tunables: Tunables
) -> None:
    handler = desired_config(store, tunables)
    handler.offer(ConfigDesired(version=1, config={"telemetry.interval_s": 5}))
    handler.offer(ConfigDesired(version=2, config={}))
    assert tunables.telemetry_interval_s == 30.0


def test_undecodable_payload_is_ignored(store: StateStore, tunables: Tunables) -> None:
    assert desired_config(store, tunables).handle(TOPIC, b"[]") is None
    assert reports(store) == []
