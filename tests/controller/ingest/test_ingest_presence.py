"""PresenceStore: births, stale wills, silence → offline, dirty rows and restore after a failed flush."""

from __future__ import annotations

import pytest

from station_controller.ingest.presence import PresenceStore, link_rates, sample_dict
from station_controller.observability.metrics import IngestStats
from station_protocol import Birth, Death, InterfaceCounters, Telemetry
from station_protocol.messages import body_to_dict


def _birth(session: int) -> Birth:
    return Birth(
        agent_version="0.1.0",
        role="stb",
        boot_id="b-1",
        session=session,
        capabilities=("ping",),
        hardware={"arch": "aarch64"},
        config_version=3,
    )


def _sample() -> Telemetry:
    return Telemetry(
        seq=1,
        interval_s=30.0,
        cpu_pct=1.0,
        load1=0.1,
        mem_total=10,
        mem_used=5,
        disk_total=10,
        disk_used=1,
        uptime_s=5.0,
        interfaces=(
            InterfaceCounters("eth0", 1, 2, 100.0, 10.0),
            InterfaceCounters("wlan0", 1, 2, 50.0, 5.0),
            InterfaceCounters("lo", 1, 2, 1000.0, 1000.0),
        ),
    )


@pytest.fixture
def store() -> PresenceStore:
    return PresenceStore(stats=IngestStats(), offline_after_s=60.0)


def test_birth_marks_online_with_device_facts(store: PresenceStore) -> None:
    store.birth("stb-a1", _birth(7), now=1000.0)
    [row] = store.take_dirty()
    assert row["id"] == "stb-a1"
    assert row["online"] is True
    assert row["session"] == 7
    assert row["agent_version"] == "0.1.0"
    assert row["capabilities"] == ["ping"]
    assert row["reported_config_version"] == 3
    assert row["last_seen_at"].timestamp() == 1000.0
    assert store.online_count() == 1
    assert store.take_dirty() == []


def test_stale_death_is_ignored_and_current_death_counts(store: PresenceStore) -> None:
    store.birth("stb-a1", _birth(8), now=1000.0)
    store.take_dirty()
    assert store.death("stb-a1", Death(session=7)) is False
    assert store.is_online("stb-a1")
    assert store.take_dirty() == []
    assert store.death("stb-a1", Death(session=8)) is True
    assert store.take_dirty() == [{"id": "stb-a1", "online": False}]
    assert store.online_count() == 0


def test_telemetry_keeps_latest_and_sums_rates_without_loopback(store: PresenceStore) -> None:
    store.telemetry("stb-a1", _sample(), ts_ms=2_000_000, now=2000.0)
    [row] = store.take_dirty()
    assert row["online"] is True
    assert row["latest"]["seq"] == 1
    assert (row["rx_bps"], row["tx_bps"]) == (150.0, 15.0)
    assert row["latest_at"].timestamp() == 2000.0
    assert link_rates(_sample()) == (150.0, 15.0)


def test_silence_marks_offline(store: PresenceStore) -> None:
    store.telemetry("stb-a1", _sample(), ts_ms=1, now=1000.0)
    store.telemetry("stb-b2", _sample(), ts_ms=1, now=1050.0)
    store.take_dirty()
    assert store.sweep(now=1070.0) == 1
    assert store.take_dirty() == [{"id": "stb-a1", "online": False}]
    assert store.is_online("stb-b2")
    assert store.online_count() == 1


def test_restore_puts_rows_back_but_newer_changes_win(store: PresenceStore) -> None:
    store.birth("stb-a1", _birth(1), now=1.0)
    rows = store.take_dirty()
    store.config_reported("stb-a1", 9, now=2.0)
    store.restore(rows)
    [row] = store.take_dirty()
    assert row["reported_config_version"] == 9
    assert row["agent_version"] == "0.1.0"


def test_seeded_devices_go_offline_when_silent_and_keep_their_session(store: PresenceStore) -> None:
    store.seed([("stb-a1", 4)], now=100.0)
    assert store.death("stb-a1", Death(session=3)) is False
    assert store.sweep(now=161.0) == 1
    assert store.take_dirty() == [{"id": "stb-a1", "online": False}]


def test_forget_drops_state(store: PresenceStore) -> None:
    store.birth("stb-a1", _birth(1), now=1.0)
    store.forget("stb-a1")
    assert store.online_count() == 0
    assert store.take_dirty() == []


def test_sample_dict_matches_the_wire_shape() -> None:
    assert sample_dict(_sample()) == body_to_dict(_sample())


def test_replayed_death_of_an_offline_device_writes_nothing(store: PresenceStore) -> None:
    assert store.death("stb-a1", Death(session=2)) is True
    assert store.take_dirty() == []
    assert store.online_count() == 0
