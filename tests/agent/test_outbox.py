"""Outbox: order, bounds, drop policy, persistence across restarts, and the sender's ack handling."""

from __future__ import annotations

import threading
from pathlib import Path

from station_agent.outbox import DROPPED, DROPPED_PRIORITY, Outbox, OutboxSender
from station_agent.state import StateStore
from tests.support import wait_until

from .fakes import FakeLink

T = "st/v1/stb-0001/telemetry"
R = "st/v1/stb-0001/result"


def kinds_and_payloads(outbox: Outbox) -> list[tuple[str, bytes]]:
    return [(row.kind, row.payload) for row in outbox.peek(10_000)]


def test_rows_come_back_in_insertion_order(outbox: Outbox) -> None:
    for i in range(5):
        outbox.put("telemetry" if i % 2 else "result", T if i % 2 else R, b"m%d" % i)
    assert [p for _, p in kinds_and_payloads(outbox)] == [b"m0", b"m1", b"m2", b"m3", b"m4"]
    assert outbox.depth() == 5


def test_full_outbox_drops_oldest_telemetry_first_and_keeps_results(store: StateStore) -> None:
    outbox = Outbox(store, max_messages=10, max_bytes=1 << 20)
    outbox.put("result", R, b"r0")
    for i in range(9):
        outbox.put("telemetry", T, b"t%d" % i)
    outbox.put("event", R, b"e0")  # full: t0 goes
    outbox.put("telemetry", T, b"t9")  # full: t1 goes
    payloads = [p for _, p in kinds_and_payloads(outbox)]
    assert payloads == [b"r0", b"t2", b"t3", b"t4", b"t5", b"t6", b"t7", b"t8", b"e0", b"t9"]
    assert outbox.dropped() == 2
    assert store.counter(DROPPED_PRIORITY) == 0


def test_with_no_telemetry_left_new_telemetry_is_dropped_and_results_displace_the_oldest(
    store: StateStore,
) -> None:
    outbox = Outbox(store, max_messages=10, max_bytes=1 << 20)
    for i in range(10):
        outbox.put("result", R, b"r%d" % i)
    assert outbox.put("telemetry", T, b"t0") is False
    assert outbox.put("result", R, b"r10") is True
    payloads = [p for _, p in kinds_and_payloads(outbox)]
    assert payloads == [b"r%d" % i for i in range(1, 11)]
    assert (store.counter(DROPPED), store.counter(DROPPED_PRIORITY)) == (2, 1)


def test_byte_bound_drops_as_many_telemetry_rows_as_needed(store: StateStore) -> None:
    outbox = Outbox(store, max_messages=1000, max_bytes=65536)
    for i in range(4):
        outbox.put("telemetry", T, bytes([i]) * 16000)  # 64000 bytes in total
    outbox.put("result", R, b"x" * 40000)  # needs 38464 more bytes: three samples go
    assert [(k, len(p)) for k, p in kinds_and_payloads(outbox)] == [("telemetry", 16000), ("result", 40000)]
    assert outbox.dropped() == 3


def test_rows_and_drop_counts_survive_a_restart(state_path: Path) -> None:
    first = StateStore.open(state_path)
    outbox = Outbox(first, max_messages=10, max_bytes=1 << 20)
    for i in range(12):
        outbox.put("telemetry", T, b"t%d" % i)
    first.close()  # as after kill -9: every put was already committed

    second = StateStore.open(state_path)
    reopened = Outbox(second, max_messages=10, max_bytes=1 << 20)
    assert [p for _, p in kinds_and_payloads(reopened)] == [b"t%d" % i for i in range(2, 12)]
    assert reopened.dropped() == 2
    second.close()


def test_sender_deletes_only_acknowledged_rows_and_resends_from_the_oldest(outbox: Outbox) -> None:
    for i in range(3):
        outbox.put("telemetry", T, b"t%d" % i)
    link = FakeLink(auto_ack=False)
    stop = threading.Event()
    sender = OutboxSender(outbox, link, stop, batch=10, ack_timeout_s=0.3)

    link.published.clear()
    acker = threading.Thread(target=lambda: _ack_first(link))
    acker.start()
    assert sender.step() == 1  # t0 acked, t1 never acked before the timeout: t1 and t2 stay
    acker.join()
    assert [p for _, p in kinds_and_payloads(outbox)] == [b"t1", b"t2"]

    link.auto_ack = True
    assert sender.step() == 2
    assert link.payloads() == [b"t0", b"t1", b"t2", b"t1", b"t2"]
    assert outbox.depth() == 0


def _ack_first(link: FakeLink) -> None:
    wait_until(lambda: link.published, timeout=5)
    link.published[0].handle.ack()


def test_sender_waits_while_disconnected_and_keeps_rows(outbox: Outbox) -> None:
    outbox.put("result", R, b"r0")
    link = FakeLink(connected=False)
    sender = OutboxSender(outbox, link, threading.Event(), batch=10, ack_timeout_s=1.0)
    assert sender.step() == 0
    assert link.published == []
    link.set_connected(True)
    assert sender.step() == 1
    assert link.payloads() == [b"r0"]
    assert outbox.depth() == 0


def test_sender_stops_waiting_when_the_link_drops(outbox: Outbox) -> None:
    outbox.put("result", R, b"r0")
    link = FakeLink(auto_ack=False)
    sender = OutboxSender(outbox, link, threading.Event(), batch=10, ack_timeout_s=60.0)
    dropper = threading.Timer(0.2, link.set_connected, args=(False,))
    dropper.start()
    assert sender.step() == 0
    dropper.join()
    assert outbox.depth() == 1


def test_retain_flag_is_kept(outbox: Outbox) -> None:
    outbox.put("config_reported", "st/v1/stb-0001/config/reported", b"c", retain=True)
    link = FakeLink()
    OutboxSender(outbox, link, threading.Event(), batch=10, ack_timeout_s=1.0).step()
    assert (link.published[0].retain, link.published[0].qos) == (True, 1)
