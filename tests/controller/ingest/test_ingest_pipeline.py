"""Pipeline with fakes behind its Protocols: routing by kind, rejects by reason, dedup, unknown devices."""

from __future__ import annotations

import json
import queue

import pytest

from station_controller.ingest.devices import KnownDevices
from station_controller.ingest.pipeline import Message, Pipeline, RecentIds
from station_controller.ingest.presence import PresenceStore
from station_controller.observability.metrics import IngestStats
from station_protocol import MAX_PAYLOAD_BYTES, Event, Result, encode, make
from tests.fakes.ingest import FakeDirectory, FakePoints, FakeResults
from tests.fixtures.golden import Golden, invalid_messages, valid_messages

DEVICE = "stb-a1b2c3d4"
# Receive time near the golden messages' ts: inside the window decode_from checks ts against.
RECEIVED_AT = 1_795_700_060.0


class Rig:
    def __init__(self) -> None:
        self.directory = FakeDirectory({DEVICE: "stb"})
        self.known = KnownDevices(self.directory)
        self.known.refresh()
        self.stats = IngestStats()
        self.presence = PresenceStore(stats=self.stats, offline_after_s=60)
        self.points = FakePoints()
        self.results = FakeResults()
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.pipeline = Pipeline(
            inbox=self.inbox,
            known=self.known,
            presence=self.presence,
            points=self.points,
            results=self.results,
            stats=self.stats,
            dedup_window=100,
        )

    def feed(self, golden: Golden, received_at: float = RECEIVED_AT) -> None:
        self.pipeline.handle(golden.topic, golden.payload, received_at)

    def rejected(self, reason: str) -> int:
        return self.stats.labeled("messages_rejected", reason)


@pytest.fixture
def rig() -> Rig:
    return Rig()


def _golden(name: str) -> Golden:
    return next(g for g in valid_messages() if g.name == name)


def test_telemetry_goes_to_the_tsdb_and_presence(rig: Rig) -> None:
    rig.feed(_golden("telemetry"))
    assert rig.points.lines[0].startswith("telemetry,device=stb-a1b2c3d4,role=stb ")
    assert "seq=1042i" in rig.points.lines[0]
    assert rig.points.lines[0].endswith(" 1795700030000")
    assert [line.split(" ")[0] for line in rig.points.lines[1:]] == [
        "iface,device=stb-a1b2c3d4,role=stb,iface=eth0",
        "iface,device=stb-a1b2c3d4,role=stb,iface=wlan0",
    ]
    [row] = rig.presence.take_dirty()
    assert row["latest"]["seq"] == 1042
    assert row["rx_bps"] == 3200000.0


@pytest.mark.parametrize("golden", invalid_messages(), ids=lambda g: g.name)
def test_invalid_messages_are_counted_by_reason(rig: Rig, golden: Golden) -> None:
    assert golden.reason is not None
    rig.feed(golden)
    assert rig.rejected(golden.reason) == 1
    assert rig.points.lines == []
    assert rig.presence.take_dirty() == []


def test_oversized_payload_is_too_large(rig: Rig) -> None:
    rig.pipeline.handle(f"st/v1/{DEVICE}/telemetry", b" " * (MAX_PAYLOAD_BYTES + 1), 1.0)
    assert rig.rejected("too_large") == 1


def test_duplicate_ids_are_dropped(rig: Rig) -> None:
    rig.feed(_golden("telemetry"))
    rig.feed(_golden("telemetry"))
    assert rig.stats.value("messages_duplicate") == 1
    assert len([line for line in rig.points.lines if line.startswith("telemetry")]) == 1


def test_unknown_device_is_dropped_and_looked_up_once_per_ttl(rig: Rig) -> None:
    other = "stb-other0001"
    for _ in range(3):
        env = make(other, Event(name="hello"))
        rig.pipeline.handle(f"st/v1/{other}/event", encode(env), 1.0)
    assert rig.rejected("unknown_device") == 3
    assert rig.directory.lookups == [other]
    assert rig.points.lines == []


def test_device_enrolled_after_the_refresh_is_found_by_lookup(rig: Rig) -> None:
    late = "rt-late00001"
    rig.directory.roles[late] = "router"
    rig.pipeline.handle(f"st/v1/{late}/event", encode(make(late, Event(name="up"))), 1.0)
    assert rig.rejected("unknown_device") == 0
    assert "role=router" in rig.points.lines[0]


def test_revoked_device_is_dropped_after_refresh(rig: Rig) -> None:
    del rig.directory.roles[DEVICE]
    assert rig.known.refresh() == {DEVICE}
    rig.feed(_golden("telemetry"))
    assert rig.rejected("unknown_device") == 1


def test_births_deaths_and_config_reports_update_presence(rig: Rig) -> None:
    rig.feed(_golden("birth"))
    rig.feed(_golden("config_reported"))
    [row] = rig.presence.take_dirty()
    assert row["online"] is True
    assert row["session"] == 7
    assert row["reported_config_version"] == 4
    rig.feed(_golden("death"))
    assert rig.presence.take_dirty() == [{"id": DEVICE, "online": False}]
    assert rig.stats.snapshot()["devices_online"] == 0


def test_results_are_batched_and_retried(rig: Rig) -> None:
    rig.results.failures = 1
    rig.feed(_golden("result"))
    rig.pipeline.flush_results()
    assert rig.results.batches == []
    assert rig.stats.value("results_failed") == 1
    rig.pipeline.flush_results()
    [[(device_id, result)]] = rig.results.batches
    assert device_id == DEVICE
    assert isinstance(result, Result)
    assert result.command_id == "9d4a0b6f2c5b4a8d9e7f6b5c4d3e2f1a"
    assert rig.stats.value("results_recorded") == 1


def test_events_are_counted_and_stored(rig: Rig) -> None:
    rig.feed(_golden("event"))
    assert rig.stats.labeled("device_events", "warning") == 1
    assert rig.points.lines == [
        "event,device=stb-a1b2c3d4,role=stb,name=other,severity=warning count=1i 1795700031000"
    ]


def test_downlink_echoes_are_ignored(rig: Rig) -> None:
    rig.feed(_golden("command"))
    rig.feed(_golden("config_desired"))
    assert rig.stats.value("messages_ignored") == 2
    assert sum(rig.stats.labeled_copy()["messages_rejected"].values()) == 0


def test_worker_thread_drains_the_queue_and_survives_garbage(rig: Rig) -> None:
    rig.pipeline.start()
    rig.inbox.put((f"st/v1/{DEVICE}/telemetry", b"\xff\xfe", 1.0))
    for seq in range(50):
        body = json.loads(_golden("telemetry").payload)
        body["id"] = f"id-{seq}"
        body["body"]["seq"] = seq
        rig.inbox.put((f"st/v1/{DEVICE}/telemetry", json.dumps(body).encode(), RECEIVED_AT))
    rig.pipeline.stop(10.0)
    assert not rig.pipeline.alive()
    seqs = [line for line in rig.points.lines if line.startswith("telemetry")]
    assert len(seqs) == 50
    assert rig.rejected("malformed") == 1


def test_recent_ids_forget_the_oldest() -> None:
    recent = RecentIds(2)
    assert not recent.seen_before(("d", "1"))
    assert not recent.seen_before(("d", "2"))
    assert not recent.seen_before(("d", "3"))
    assert not recent.seen_before(("d", "1"))
    assert recent.seen_before(("d", "3"))
