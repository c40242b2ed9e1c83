"""Durable ingest with fakes behind the pipeline's Protocols: a message is acknowledged only once it is
stored; rejects, duplicates and over-budget messages at once; retained messages only where allowed."""

from __future__ import annotations

import json
import queue
from collections.abc import Callable

from station_controller.ingest.budgets import BudgetLimits
from station_controller.ingest.devices import KnownDevices
from station_controller.ingest.events import DeviceEvent, EventRoute
from station_controller.ingest.pipeline import QUARANTINE_EVENT, Message, Pipeline, RecentIds, Seen
from station_controller.ingest.presence import PresenceStore
from station_controller.observability.metrics import IngestStats
from tests.fakes.ingest import FakeDirectory, FakeResults
from tests.fixtures.golden import Golden, valid_messages

DEVICE = "stb-a1b2c3d4"
OTHER = "stb-honest01"
RECEIVED_AT = 1_795_700_060.0  # near the golden messages' ts, inside decode's receive window


class HeldPoints:
    """A TSDB writer that stores only when told to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.waiting: list[Callable[[], None]] = []

    def submit(self, lines: list[str], on_done: Callable[[], None] | None = None) -> None:
        self.lines.extend(lines)
        if on_done is not None:
            self.waiting.append(on_done)

    def store_all(self) -> None:
        waiting, self.waiting = self.waiting, []
        for done in waiting:
            done()


class Acks:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def for_(self, name: str) -> Callable[[], None]:
        return lambda: self.sent.append(name)


class Rig:
    def __init__(self, limits: BudgetLimits | None = None) -> None:
        self.known = KnownDevices(FakeDirectory({DEVICE: "stb", OTHER: "stb"}))
        self.known.refresh()
        self.stats = IngestStats()
        self.points = HeldPoints()
        self.results = FakeResults()
        self.features = FakeResults()
        self.cleared: list[str] = []
        self.acks = Acks()
        self.pipeline = Pipeline(
            inbox=queue.Queue[Message](),
            known=self.known,
            presence=PresenceStore(stats=self.stats, offline_after_s=60),
            points=self.points,
            results=self.results,
            stats=self.stats,
            dedup_window=100,
            event_handlers=[EventRoute(frozenset({"disk_low"}), self.features)],
            budgets=limits,
            clear_retained=self.cleared.append,
        )

    def feed(self, golden: Golden, ack: str, *, retained: bool = False, payload: bytes | None = None) -> None:
        body = golden.payload if payload is None else payload
        self.pipeline.handle(golden.topic, body, RECEIVED_AT, retained, self.acks.for_(ack))


def _golden(name: str) -> Golden:
    return next(g for g in valid_messages() if g.name == name)


def _with_id(golden: Golden, message_id: str) -> bytes:
    envelope = json.loads(golden.payload)
    envelope["id"] = message_id
    return json.dumps(envelope).encode()


def test_telemetry_is_acknowledged_only_after_the_tsdb_stored_it() -> None:
    rig = Rig()
    rig.feed(_golden("telemetry"), "t1")
    assert rig.points.lines
    assert rig.acks.sent == []
    rig.points.store_all()
    assert rig.acks.sent == ["t1"]


def test_a_copy_redelivered_while_the_first_is_unstored_waits_for_it() -> None:
    rig = Rig()
    telemetry = _golden("telemetry")
    rig.feed(telemetry, "first")
    rig.feed(telemetry, "copy")
    assert rig.acks.sent == []
    assert rig.stats.value("messages_duplicate") == 1
    rig.points.store_all()
    assert sorted(rig.acks.sent) == ["copy", "first"]
    rig.feed(telemetry, "late copy")  # stored before: acknowledged at once
    assert rig.acks.sent[-1] == "late copy"


def test_rejected_and_ignored_messages_are_acknowledged_at_once() -> None:
    rig = Rig()
    rig.pipeline.handle(f"st/v1/{DEVICE}/telemetry", b"{", RECEIVED_AT, False, rig.acks.for_("garbage"))
    rig.feed(_golden("command"), "echo")
    assert rig.acks.sent == ["garbage", "echo"]


def test_results_are_acknowledged_after_the_batch_committed() -> None:
    rig = Rig()
    rig.results.failures = 1
    rig.feed(_golden("result"), "r1")
    rig.pipeline.flush_results()
    assert rig.acks.sent == []
    rig.pipeline.flush_results()
    assert len(rig.results.batches) == 1
    assert rig.acks.sent == ["r1"]


def test_a_feature_event_waits_for_the_tsdb_and_the_feature_commit() -> None:
    rig = Rig()
    rig.features.failures = 1
    rig.feed(_golden("event"), "e1")
    rig.points.store_all()
    rig.pipeline.flush_results()  # the feature's first commit fails
    assert rig.acks.sent == []
    rig.pipeline.flush_results()
    [[event]] = rig.features.batches
    assert isinstance(event, DeviceEvent)
    assert rig.acks.sent == ["e1"]


def test_state_messages_are_acknowledged_once_presence_has_them() -> None:
    rig = Rig()
    rig.feed(_golden("birth"), "b1", retained=True)
    rig.feed(_golden("config_reported"), "c1", retained=True)
    assert rig.acks.sent == ["b1", "c1"]
    assert sum(rig.stats.labeled_copy()["messages_rejected"].values()) == 0


def test_retained_telemetry_is_rejected_acknowledged_and_cleared() -> None:
    rig = Rig()
    telemetry = _golden("telemetry")
    rig.feed(telemetry, "t1", retained=True)
    assert rig.stats.labeled("messages_rejected", "retained_not_allowed") == 1
    assert rig.cleared == [telemetry.topic]
    assert rig.points.lines == []
    assert rig.acks.sent == ["t1"]
    rig.feed(telemetry, "clear echo", retained=True, payload=b"")  # our own clear, delivered back
    assert rig.stats.value("messages_ignored") == 1
    assert rig.stats.labeled("messages_rejected", "retained_not_allowed") == 1


def test_a_flooding_device_is_quarantined_once_and_the_others_go_on() -> None:
    limits = BudgetLimits(
        messages_per_s=0.01, message_burst=3, bytes_per_s=1e6, byte_burst=1e9, quarantine_s=600
    )
    rig = Rig(limits)
    telemetry = _golden("telemetry")
    for n in range(10):
        rig.feed(telemetry, f"flood-{n}", payload=_with_id(telemetry, f"flood-{n}"))
    assert rig.stats.labeled("messages_rejected", "rate_limited") == 7
    assert rig.stats.value("devices_quarantined") == 1
    assert [ack for ack in rig.acks.sent if ack.startswith("flood")] == [f"flood-{n}" for n in range(3, 10)]
    events = [line for line in rig.points.lines if line.startswith("event,")]
    assert len(events) == 1
    assert f"device={DEVICE}" in events[0]
    assert f"name={QUARANTINE_EVENT}" in events[0]
    honest = json.loads(telemetry.payload)
    honest["dev"] = OTHER
    rig.pipeline.handle(
        f"st/v1/{OTHER}/telemetry", json.dumps(honest).encode(), RECEIVED_AT, False, rig.acks.for_("ok")
    )
    rig.points.store_all()
    assert "ok" in rig.acks.sent
    assert rig.pipeline.budgets is not None
    assert rig.pipeline.budgets.quarantined() == [DEVICE]


def test_a_copy_whose_first_store_never_finished_is_stored_itself_after_the_wait() -> None:
    clock = [0.0]
    recent = RecentIds(100, stale_after_s=60.0, clock=lambda: clock[0])
    acks = Acks()
    assert recent.begin(("d", "1"), acks.for_("first")) is Seen.NEW  # its points are then dropped
    assert recent.begin(("d", "1"), acks.for_("early copy")) is Seen.PENDING
    clock[0] = 61.0
    assert recent.begin(("d", "1"), acks.for_("late copy")) is Seen.NEW
    recent.finish(("d", "1"))  # the late copy stored: the copy that waited is acknowledged too
    assert acks.sent == ["early copy"]
    assert recent.begin(("d", "1"), acks.for_("again")) is Seen.DONE


def test_a_failed_store_is_forgotten_so_the_redelivery_is_handled_afresh() -> None:
    recent = RecentIds(100)
    acks = Acks()
    assert recent.begin(("d", "1"), acks.for_("first")) is Seen.NEW
    recent.abandon(("d", "1"))
    assert recent.begin(("d", "1"), acks.for_("redelivered")) is Seen.NEW
