"""VictoriaMetrics restarted while telemetry streams in: every sample is stored exactly once afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from station_protocol import Channel, encode, make, now_ms, topic
from tests.integration.ingest_rig import device_client, make_registry, make_settings, running_ingest, sample
from tests.support import BrokerHandle, MqttTestClient, VictoriaHandle, wait_until

pytestmark = pytest.mark.integration
DEVICE = "stb-outage-a1"
PER_PHASE = 60
STEP_MS = 100  # distinct sample times, far above the 1 ms dedup interval


def _publish(device: MqttTestClient, seqs: range, base_ms: int) -> None:
    for seq in seqs:
        envelope = make(DEVICE, sample(seq), ts=base_ms + seq * STEP_MS)
        device.publish(topic(DEVICE, Channel.TELEMETRY), encode(envelope))


def _stored(victoria: VictoriaHandle, fn: str) -> float:
    rows = victoria.query(f'{fn}(telemetry_seq{{device="{DEVICE}"}}[1h])')
    return float(rows[0]["value"][1]) if rows else 0.0


def test_tsdb_restart_loses_and_duplicates_nothing(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    factory = make_registry(tmp_path, [DEVICE])
    base_ms = now_ms() - 10 * 60_000  # all samples in the recent past, inside the [1h] windows below
    total = 3 * PER_PHASE
    with running_ingest(make_settings(tmp_path, broker, victoria), factory) as runtime:
        device = device_client(broker, DEVICE)
        try:
            _publish(device, range(0, PER_PHASE), base_ms)
            wait_until(
                lambda: _stored(victoria, "count_over_time") == PER_PHASE, timeout=30, message="phase 1"
            )
            victoria.stop()
            try:
                _publish(device, range(PER_PHASE, 2 * PER_PHASE), base_ms)
                wait_until(
                    lambda: runtime.stats.value("write_errors") >= 2, timeout=30, message="writes failing"
                )
                assert runtime.writer.buffered() > 0
            finally:
                victoria.start()
            _publish(device, range(2 * PER_PHASE, total), base_ms)
            # A redelivered copy (same device, same sample time) must collapse onto the stored one.
            _publish(device, range(PER_PHASE, PER_PHASE + 5), base_ms)
            # Each sample is one point (no interfaces): wait until the copies were written too.
            wait_until(
                lambda: runtime.stats.value("points_written") == total + 5, timeout=60, message="all written"
            )
        finally:
            device.close()
        assert runtime.writer.buffered() == 0
        assert runtime.stats.value("points_dropped") == 0
    wait_until(lambda: _stored(victoria, "count_over_time") == total, timeout=30, message="all queryable")
    assert _stored(victoria, "sum_over_time") == sum(range(total))
    assert _stored(victoria, "min_over_time") == 0
    assert _stored(victoria, "max_over_time") == total - 1
