"""Telemetry: rates from two samples, counter resets, interface choice, persistent seq, queue figures."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from station_agent.outbox import Outbox
from station_agent.state import StateStore
from station_agent.telemetry import TelemetryBuilder, TelemetryReporter
from station_agent.tunables import Tunables
from station_protocol import Telemetry, decode
from tests.support import wait_until

from .conftest import DEVICE
from .fakes import FakeSystemMetrics, sample


def test_first_sample_has_zero_rates_then_bits_per_second() -> None:
    metrics = FakeSystemMetrics(
        [sample(100.0, [("eth0", 1000, 500)]), sample(110.0, [("eth0", 11000, 2500)])]
    )
    builder = TelemetryBuilder(metrics)
    first = builder.build(seq=1, interval_s=10.0, queue_depth=0, queue_dropped=0)
    second = builder.build(seq=2, interval_s=10.0, queue_depth=3, queue_dropped=1)
    assert (first.interfaces[0].rx_bps, first.interfaces[0].tx_bps) == (0.0, 0.0)
    assert second.interfaces[0].rx_bps == pytest.approx(10000 * 8 / 10.0)
    assert second.interfaces[0].tx_bps == pytest.approx(2000 * 8 / 10.0)
    assert (second.interfaces[0].rx_bytes, second.queue_depth, second.queue_dropped) == (11000, 3, 1)


def test_counter_reset_counts_from_zero_instead_of_going_negative() -> None:
    metrics = FakeSystemMetrics(
        [sample(0.0, [("wlan0", 900_000, 900_000)]), sample(4.0, [("wlan0", 4000, 1000)])]
    )
    builder = TelemetryBuilder(metrics)
    builder.build(seq=1, interval_s=4.0, queue_depth=0, queue_dropped=0)
    after_reset = builder.build(seq=2, interval_s=4.0, queue_depth=0, queue_dropped=0)
    assert after_reset.interfaces[0].rx_bps == pytest.approx(4000 * 8 / 4.0)
    assert after_reset.interfaces[0].tx_bps == pytest.approx(1000 * 8 / 4.0)


def test_new_interface_starts_at_zero_rate() -> None:
    metrics = FakeSystemMetrics(
        [sample(0.0, [("eth0", 0, 0)]), sample(1.0, [("eth0", 100, 0), ("wg0", 5000, 0)])]
    )
    builder = TelemetryBuilder(metrics)
    builder.build(seq=1, interval_s=1.0, queue_depth=0, queue_dropped=0)
    body = builder.build(seq=2, interval_s=1.0, queue_depth=0, queue_dropped=0)
    assert {i.name: i.rx_bps for i in body.interfaces} == {"eth0": 800.0, "wg0": 0.0}


def test_loopback_is_skipped_by_default_and_a_configured_list_wins() -> None:
    interfaces = [("eth0", 1, 1), ("lo", 1, 1), ("wlan0", 1, 1)]
    default = TelemetryBuilder(FakeSystemMetrics([sample(0.0, interfaces)]))
    chosen = TelemetryBuilder(FakeSystemMetrics([sample(0.0, interfaces)]), ("wlan0",))
    assert [
        i.name for i in default.build(seq=1, interval_s=1, queue_depth=0, queue_dropped=0).interfaces
    ] == [
        "eth0",
        "wlan0",
    ]
    assert [i.name for i in chosen.build(seq=1, interval_s=1, queue_depth=0, queue_dropped=0).interfaces] == [
        "wlan0"
    ]


def test_temperature_passes_through_or_stays_none() -> None:
    hot = TelemetryBuilder(FakeSystemMetrics([sample(0.0, temp_c=61.5)]))
    cold = TelemetryBuilder(FakeSystemMetrics([sample(0.0)]))
    assert hot.build(seq=1, interval_s=1, queue_depth=0, queue_dropped=0).temp_c == 61.5
    assert cold.build(seq=1, interval_s=1, queue_depth=0, queue_dropped=0).temp_c is None


def reporter(store: StateStore, tunables: Tunables) -> TelemetryReporter:
    outbox = Outbox(store, max_messages=1000, max_bytes=1 << 20)
    builder = TelemetryBuilder(FakeSystemMetrics([sample(0.0, [("eth0", 0, 0)])]))
    return TelemetryReporter(device_id=DEVICE, builder=builder, store=store, outbox=outbox, tunables=tunables)


def queued_bodies(store: StateStore) -> list[Telemetry]:
    rows = Outbox(store, max_messages=1000, max_bytes=1 << 20).peek(1000)
    bodies = [decode(row.payload).body for row in rows]
    assert all(isinstance(b, Telemetry) for b in bodies)
    return bodies  # type: ignore[return-value]


def test_seq_continues_after_a_restart_and_queue_figures_are_reported(
    state_path: Path, tunables: Tunables
) -> None:
    first = StateStore.open(state_path)
    assert [reporter(first, tunables).tick() for _ in range(3)] == [1, 2, 3]
    first.close()
    second = StateStore.open(state_path)
    assert reporter(second, tunables).tick() == 4
    bodies = queued_bodies(second)
    assert [b.seq for b in bodies] == [1, 2, 3, 4]
    assert [b.queue_depth for b in bodies] == [0, 1, 2, 3]
    assert bodies[0].interval_s == 30.0
    rows = Outbox(second, max_messages=1000, max_bytes=1 << 20).peek(10)
    assert {row.topic for row in rows} == {f"st/v1/{DEVICE}/telemetry"}
    assert json.loads(rows[0].payload)["dev"] == DEVICE
    second.close()


def test_run_samples_at_once_and_an_interval_change_takes_effect(store: StateStore) -> None:
    tunables = Tunables(telemetry_interval_s=3600.0, command_timeout_s=30.0)
    rep = reporter(store, tunables)
    stop = threading.Event()
    thread = threading.Thread(target=rep.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: store.counter("telemetry_seq") == 1, timeout=5)
        tunables.update(telemetry_interval_s=1.0, command_timeout_s=30.0)  # else the next tick is in an hour
        wait_until(lambda: store.counter("telemetry_seq") >= 3, timeout=10)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
