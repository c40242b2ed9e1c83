"""A hostile device beside honest ones, through the real ingest (Mosquitto, VictoriaMetrics, SQLite):

* its poison event makes a feature's handler fail (a CHECK constraint of the feature's own table):
  that event alone is refused and counted, every honest device's event is recorded exactly once, in
  order, and none waits; while the feature's database is locked (an outage), nothing is lost;
* it sends hundreds of event names the protocol registry does not declare and interface names it
  makes up: VictoriaMetrics gets a bounded number of series for it (``name="other"``,
  ``iface="other"``), counted per device, while honest devices' series keep their names;
* the counters the alert rules read are exported on /metrics with their help text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from sqlalchemy import create_engine, text

from station_controller.ingest.events import DeviceEvent
from station_controller.ingest.labels import MAX_IFACES_PER_DEVICE, OTHER
from station_controller.ingest.runtime import IngestRuntime, build_ingest
from station_controller.observability.metrics import REGISTRY
from station_controller.settings import Settings
from station_protocol import Channel, Event, InterfaceCounters, encode, make, topic
from tests.integration.ingest_rig import device_client, make_registry, make_settings, sample
from tests.support import BrokerHandle, MqttTestClient, VictoriaHandle, wait_until

pytestmark = pytest.mark.integration
HONEST = ["stb-evt-h1", "stb-evt-h2", "stb-evt-h3"]
EVIL = "stb-evt-evil"
READING = "test.reading"  # the feature's own event name (not in the registry: its handler wants it)
PER_DEVICE = 20
DURING_OUTAGE = 1000  # the seq of the honest events sent while the feature's database is locked
# Per honest device, in the order sent: the outage comes after seq 10.
EXPECTED = [*range(PER_DEVICE // 2 + 1), DURING_OUTAGE, *range(PER_DEVICE // 2 + 1, PER_DEVICE)]
SPAM_NAMES = 300


class ReadingsFeature:
    """A feature's DeviceEventHandler on its own SQLite table: one transaction per batch, CHECK(value)."""

    names = frozenset({READING})

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE readings (n INTEGER PRIMARY KEY AUTOINCREMENT, device TEXT NOT NULL,"
                    " seq INTEGER NOT NULL, value INTEGER NOT NULL CHECK (value BETWEEN 0 AND 100))"
                )
            )

    def record(self, events: Sequence[DeviceEvent]) -> None:
        rows = [{"device": e.device_id, "seq": e.detail["seq"], "value": e.detail["value"]} for e in events]
        with self.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO readings (device, seq, value) VALUES (:device, :seq, :value)"), rows
            )

    def rows(self) -> list[tuple[str, int]]:
        with self.engine.connect() as conn:
            return [(d, s) for d, s in conn.execute(text("SELECT device, seq FROM readings ORDER BY n"))]


@contextmanager
def running(settings: Settings, factory: object, feature: ReadingsFeature) -> Iterator[IngestRuntime]:
    runtime = build_ingest(settings, factory, handlers=[feature])  # type: ignore[arg-type]
    runtime.start()
    try:
        wait_until(runtime.ready, timeout=30, message="ingest connected")
        yield runtime
    finally:
        runtime.stop()


def _event(client: MqttTestClient, device_id: str, name: str, detail: dict[str, object]) -> None:
    body = Event(name=name, severity="info", detail=detail)
    assert not client.publish(topic(device_id, Channel.EVENT), encode(make(device_id, body))).is_failure


def _per_device(rows: list[tuple[str, int]], device_id: str) -> list[int]:
    return [seq for device, seq in rows if device == device_id]


def test_a_poison_event_and_made_up_names_hurt_only_their_device(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    factory = make_registry(tmp_path, [*HONEST, EVIL])
    feature = ReadingsFeature(tmp_path / "feature.db")
    with running(make_settings(tmp_path, broker, victoria), factory, feature) as runtime:
        clients = {device_id: device_client(broker, device_id) for device_id in [*HONEST, EVIL]}
        try:
            for seq in range(PER_DEVICE):
                for device_id in HONEST:
                    _event(clients[device_id], device_id, READING, {"seq": seq, "value": seq})
                if seq % 5 == 0:  # poison: the feature's CHECK refuses it, in the middle of honest batches
                    _event(clients[EVIL], EVIL, READING, {"seq": seq, "value": 10_000})
                if seq == PER_DEVICE // 2:
                    _outage(feature, runtime, clients)
            for i in range(SPAM_NAMES):
                _event(clients[EVIL], EVIL, f"spam.{i}", {})
            for i in range(2 * MAX_IFACES_PER_DEVICE):
                body = replace(sample(i), interfaces=(InterfaceCounters(f"tun{i}", 1, 2, 3.0, 4.0),))
                clients[EVIL].publish(topic(EVIL, Channel.TELEMETRY), encode(make(EVIL, body)))
            wait_until(
                lambda: all(_per_device(feature.rows(), d) == EXPECTED for d in HONEST),
                timeout=30,
                message=f"every honest reading recorded: {feature.rows()}",
            )
            wait_until(
                lambda: runtime.stats.labeled("events_rejected", "IntegrityError") == PER_DEVICE // 5,
                message="each poison event refused and counted",
            )
            wait_until(
                lambda: runtime.stats.labeled("events_unregistered", EVIL) == SPAM_NAMES,
                message="made-up names counted",
            )
            wait_until(
                lambda: runtime.stats.labeled("label_values_capped", EVIL) == MAX_IFACES_PER_DEVICE,
                message="interface names over the cap counted",
            )
            assert runtime.ready(), runtime.problems()
            exposition = generate_latest(REGISTRY).decode()
        finally:
            for client in clients.values():
                client.close()
    rows = feature.rows()
    assert len(rows) == len(set(rows)) == len(EXPECTED) * len(HONEST)  # exactly once, none of the evil one
    assert _per_device(rows, EVIL) == []
    assert runtime.stats.value("events_failed") > 0  # the outage happened and was retried
    names = _series_values(victoria, f'event_count{{device="{EVIL}"}}', "name")
    assert names == {READING, OTHER}, names  # 300 made-up names: one series
    ifaces = _series_values(victoria, f'iface_rx_bps{{device="{EVIL}"}}', "iface")
    assert len(ifaces) == MAX_IFACES_PER_DEVICE + 1  # the cap, plus "other"
    assert OTHER in ifaces
    for device_id in HONEST:
        assert _series_values(victoria, f'event_count{{device="{device_id}"}}', "name") == {READING}
    for name in ("events_rejected", "events_unregistered", "label_values_capped", "thread_restarts"):
        assert f"# HELP {name}_total " in exposition, name
    assert f'events_unregistered_total{{device="{EVIL}"}} {float(SPAM_NAMES)}' in exposition


def _outage(feature: ReadingsFeature, runtime: IngestRuntime, clients: dict[str, MqttTestClient]) -> None:
    """Lock the feature's database while honest events arrive: they wait, unacknowledged, then land."""
    lock = sqlite3.connect(feature.path, timeout=0.2)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        before = runtime.stats.value("events_failed")
        for device_id in HONEST:
            _event(clients[device_id], device_id, READING, {"seq": DURING_OUTAGE, "value": 1})
        wait_until(lambda: runtime.stats.value("events_failed") > before, message="outage seen")
        assert runtime.stats.labeled("events_rejected", "OperationalError") == 0  # not blamed on a device
    finally:
        lock.rollback()
        lock.close()


def _series_values(victoria: VictoriaHandle, selector: str, label: str) -> set[str]:
    return {row["metric"].get(label, "") for row in victoria.query(f"last_over_time({selector}[1h])")}
