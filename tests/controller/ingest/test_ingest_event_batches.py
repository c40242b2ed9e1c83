"""A poison event in a feature's batch is isolated to its device (EventDispatcher over isolation.py);
an outage still keeps the whole unwritten batch; command results and presence rows alike.

The handler here is a fake behind the DeviceEventHandler Protocol: it refuses events whose detail says
``poison`` (as a feature's SQL refuses a row) and raises a retryable error while "the database is down".
"""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from functools import partial

from station_controller.ingest.devices import KnownDevices
from station_controller.ingest.events import DeviceEvent, EventDispatcher
from station_controller.ingest.isolation import write_isolating
from station_controller.ingest.labels import OTHER, LabelBounds
from station_controller.ingest.pipeline import Pipeline
from station_controller.ingest.presence import PresenceStore
from station_controller.observability.metrics import IngestStats
from station_protocol import Channel, Event, InterfaceCounters, Result, Telemetry, encode, make, topic
from tests.fakes.ingest import FakeDirectory, FakeOutage, FakePoints

HONEST = ["stb-honest01", "stb-honest02"]
EVIL = "stb-evil0001"


class PoisonRefused(ValueError):
    reason = "check_failed"


class StrictHandler:
    """Stores each batch all-or-nothing, like one SQL transaction; ``down``: raises an outage."""

    names = frozenset({"feature.thing"})

    def __init__(self) -> None:
        self.stored: list[DeviceEvent] = []
        self.calls = 0
        self.down = False

    def record(self, events: Sequence[DeviceEvent]) -> None:
        self.calls += 1
        if self.down:
            raise FakeOutage("connection refused")
        if any(event.detail.get("poison") for event in events):
            raise PoisonRefused("CHECK constraint failed: thing_value")
        self.stored.extend(events)


class Rig:
    def __init__(self) -> None:
        self.stats = IngestStats()
        self.handler = StrictHandler()
        self.dispatcher = EventDispatcher([self.handler], self.stats)
        self.acked: list[str] = []

    def add(self, device_id: str, seq: int, *, poison: bool = False) -> None:
        detail = {"seq": seq, "poison": poison}
        tag = f"{device_id}:{seq}"
        self.dispatcher.add(device_id, "feature.thing", detail, on_done=lambda: self.acked.append(tag))

    def stored(self) -> list[str]:
        return [f"{e.device_id}:{e.detail['seq']}" for e in self.handler.stored]


def _honest_batch(rig: Rig, seqs: range) -> list[str]:
    tags = []
    for seq in seqs:
        for device_id in HONEST:
            rig.add(device_id, seq)
            tags.append(f"{device_id}:{seq}")
    return tags


def test_a_poison_event_is_isolated_and_the_others_are_recorded_once_in_order() -> None:
    rig = Rig()
    expected = _honest_batch(rig, range(0, 5))
    rig.add(EVIL, 99, poison=True)
    expected += _honest_batch(rig, range(5, 10))
    rig.dispatcher.flush()
    assert rig.stored() == expected  # every honest event, once, in arrival order
    assert sorted(rig.acked) == sorted([*expected, f"{EVIL}:99"])  # the poison one is not redelivered
    assert rig.stats.labeled("events_rejected", "check_failed") == 1
    assert rig.stats.value("events_recorded") == len(expected)
    assert rig.dispatcher.pending() == 0
    calls = rig.handler.calls
    rig.dispatcher.flush()  # nothing kept: the poison event is not retried
    assert rig.handler.calls == calls


def test_the_next_batch_is_not_blocked_by_a_poison_event() -> None:
    rig = Rig()
    rig.add(EVIL, 1, poison=True)
    rig.dispatcher.flush()  # alone in its batch, from one device: refused, not retried
    assert rig.stats.labeled("events_rejected", "check_failed") == 1
    later = _honest_batch(rig, range(3))
    rig.dispatcher.flush()
    assert rig.stored() == later


def test_an_outage_keeps_the_whole_batch_and_loses_nothing() -> None:
    rig = Rig()
    expected = _honest_batch(rig, range(4))
    rig.add(EVIL, 9, poison=True)
    rig.handler.down = True
    rig.dispatcher.flush()
    rig.dispatcher.flush()
    assert rig.acked == []
    assert rig.handler.stored == []
    assert rig.stats.labeled("events_rejected", "check_failed") == 0  # not blamed on a device
    assert rig.stats.value("events_failed") == 2 * (len(expected) + 1)
    expected += _honest_batch(rig, range(4, 6))  # arrived during the outage, after the kept ones
    rig.handler.down = False
    rig.dispatcher.flush()
    assert rig.stored() == expected
    assert rig.stats.labeled("events_rejected", "check_failed") == 1
    assert len(rig.acked) == len(expected) + 1


def test_a_failure_of_every_device_alike_is_retried_not_dropped() -> None:
    # No device's fault: a broken handler or database refuses everything. Nothing is dropped.
    rig = Rig()
    rig.add(HONEST[0], 1, poison=True)
    rig.add(HONEST[1], 1, poison=True)
    rig.dispatcher.flush()
    assert rig.acked == []
    assert rig.dispatcher.pending() == 2
    assert rig.stats.labeled("events_rejected", "check_failed") == 0


def test_write_isolating_keeps_order_across_an_outage_in_the_middle() -> None:
    written: list[list[int]] = []
    calls = 0

    def write(part: list[int]) -> None:
        nonlocal calls
        calls += 1
        if 3 in part and len(part) > 1:
            raise ValueError("poison 3")
        if calls > 6:  # after [0,1] and [2] were written and [3] refused
            raise FakeOutage("gone")
        if part == [3]:
            raise ValueError("poison 3")
        written.append(part)

    out = write_isolating(list(range(8)), write, device_of=lambda item: f"d{item}")
    assert out.written == [0, 1, 2] == [i for part in written for i in part]
    assert out.retry == [3, 4, 5, 6, 7]
    assert out.refused == []  # an outage came: the refusal may be its fault, 3 is kept too


def test_unregistered_event_names_share_one_series_value() -> None:
    stats = IngestStats()
    labels = LabelBounds(stats=stats, event_names={"content.progress"})
    for i in range(1000):
        assert labels.event(EVIL, Event(name=f"spam.{i}")).name == OTHER
    assert labels.event(HONEST[0], Event(name="content.progress")).name == "content.progress"
    assert labels.event(HONEST[0], Event(name="ingest.quarantined")).name == "ingest.quarantined"
    assert stats.labeled("events_unregistered", EVIL) == 1000
    assert stats.labeled("events_unregistered", HONEST[0]) == 0


def _sample(names: list[str]) -> Telemetry:
    ifaces = tuple(InterfaceCounters(name, 1, 2, 3.0, 4.0) for name in names)
    return Telemetry(
        seq=1,
        interval_s=30.0,
        cpu_pct=1.0,
        load1=0.1,
        mem_total=10,
        mem_used=1,
        disk_total=10,
        disk_used=1,
        uptime_s=1.0,
        interfaces=ifaces,
    )


def test_interface_names_are_capped_per_device() -> None:
    stats = IngestStats()
    labels = LabelBounds(stats=stats, event_names=(), max_ifaces=4)
    for batch in range(10):
        out = labels.telemetry(EVIL, _sample([f"tun{batch}-{i}" for i in range(3)]))
        names = [iface.name for iface in out.interfaces]
        if batch == 0:
            assert names == ["tun0-0", "tun0-1", "tun0-2"]
        elif batch == 1:
            assert names == ["tun1-0", OTHER, OTHER]
        else:
            assert names == [OTHER] * 3
    assert stats.labeled("label_values_capped", EVIL) == 2 + 8 * 3
    # Names a device already has keep their series; another device has its own cap.
    assert [i.name for i in labels.telemetry(EVIL, _sample(["tun0-1"])).interfaces] == ["tun0-1"]
    honest = _sample(["eth0", "wlan0", "br-lan", "wg0"])
    assert labels.telemetry(HONEST[0], honest) is honest


class StrictResults:
    """A ResultSink whose one transaction per batch refuses a result naming ``bad`` (a row the DB refuses)."""

    def __init__(self) -> None:
        self.stored: list[tuple[str, str]] = []

    def record(self, results: Sequence[tuple[str, Result]]) -> None:
        if any(result.command_id.startswith("bad") for _, result in results):
            raise PoisonRefused("value too long for column output")
        self.stored.extend((device_id, result.command_id) for device_id, result in results)


def test_a_poison_result_is_isolated_and_the_other_devices_results_are_recorded() -> None:
    stats = IngestStats()
    known = KnownDevices(FakeDirectory(dict.fromkeys([*HONEST, EVIL], "stb")))
    known.refresh()
    sink = StrictResults()
    pipeline = Pipeline(
        inbox=queue.Queue(),
        known=known,
        presence=PresenceStore(stats=stats, offline_after_s=60),
        points=FakePoints(),
        results=sink,
        stats=stats,
        dedup_window=100,
    )
    acked: list[str] = []
    expected = []
    for n in range(3):
        for device_id in [HONEST[0], EVIL, HONEST[1]]:
            command_id = f"bad{n}" if device_id == EVIL else f"ok{n}{device_id[-1]}"
            envelope = make(device_id, Result(command_id=command_id, status="ok"))
            topic_name = topic(device_id, Channel.RESULT)
            pipeline.handle(
                topic_name, encode(envelope), time.time(), False, partial(acked.append, command_id)
            )
            if device_id != EVIL:
                expected.append((device_id, command_id))
    pipeline.flush_results()
    assert sink.stored == expected
    assert stats.labeled("results_rejected", "check_failed") == 3
    assert stats.value("results_recorded") == len(expected)
    assert len(acked) == 9  # the refused ones too: they are not redelivered forever
