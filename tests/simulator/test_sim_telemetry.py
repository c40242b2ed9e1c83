"""Telemetry generation: the diurnal curve's shape, monotonic seq and counters, valid wire messages."""

from __future__ import annotations

import random

import pytest

from station_protocol import Telemetry, decode, encode, make
from station_simulator.telemetry import TelemetryModel, diurnal_factor, local_hour


def test_diurnal_curve_peaks_in_the_evening_lesson_hours() -> None:
    by_hour = {h / 4: diurnal_factor(h / 4) for h in range(96)}
    peak_hour = max(by_hour, key=lambda h: by_hour[h])
    assert 19.0 <= peak_hour <= 21.0
    assert diurnal_factor(3.0) < 0.1
    assert diurnal_factor(20.0) > 3 * diurnal_factor(12.5)
    assert all(0.0 < v <= 1.0 for v in by_hour.values())


def test_diurnal_curve_wraps_around_midnight() -> None:
    assert diurnal_factor(23.99) == pytest.approx(diurnal_factor(-0.01), abs=1e-9)
    assert diurnal_factor(24.0 + 20.0) == pytest.approx(diurnal_factor(20.0))


def test_local_hour_is_china_time() -> None:
    assert local_hour(12 * 3600.0) == pytest.approx(20.0)  # 12:00 UTC is 20:00 in Beijing


def _model(role: str = "stb") -> TelemetryModel:
    return TelemetryModel(role=role, rng=random.Random(7), interval_s=30.0, boot_at=1_000_000.0)


def test_seq_increases_and_byte_counters_never_go_back() -> None:
    model = _model("router")
    samples = [model.sample(1_000_000.0 + 30.0 * i) for i in range(50)]
    assert [s.seq for s in samples] == list(range(1, 51))
    for name_index in range(2):
        rx = [s.interfaces[name_index].rx_bytes for s in samples]
        assert rx == sorted(rx)
        assert rx[-1] > rx[0]
    assert [i.name for i in samples[0].interfaces] == ["wan", "wlan0"]


def test_evening_bandwidth_exceeds_night_bandwidth() -> None:
    model = _model()
    evening = 12 * 3600.0  # 20:00 local
    night = 19 * 3600.0  # 03:00 local
    evening_bps = sum(model.sample(evening).interfaces[0].rx_bps for _ in range(20))
    night_bps = sum(model.sample(night).interfaces[0].rx_bps for _ in range(20))
    assert evening_bps > 5 * night_bps


def test_samples_are_valid_protocol_messages() -> None:
    model = _model()
    sample = model.sample(1_000_000.0)
    env = decode(encode(make("stb-sim-000001", sample)))
    assert isinstance(env.body, Telemetry)
    assert env.body == sample
    assert 0.0 <= sample.cpu_pct <= 100.0
    assert 0 < sample.mem_used < sample.mem_total
