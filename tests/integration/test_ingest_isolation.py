"""Per-device isolation at ingest against real Mosquitto + VictoriaMetrics: a flooding device is
quarantined while honest devices' samples are all stored; a retained telemetry publish is rejected,
counted and cleared from the broker."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from station_controller.ingest.pipeline import QUARANTINE_EVENT
from station_protocol import Birth, Channel, encode, make, now_ms, topic
from tests.integration.ingest_rig import device_client, make_registry, make_settings, running_ingest, sample
from tests.support import BrokerHandle, VictoriaHandle, wait_until

pytestmark = pytest.mark.integration
HONEST = [f"stb-iso-honest-{i}" for i in range(3)]
FLOODER = "stb-iso-flood"
HONEST_SAMPLES = 40
FLOOD = 3000
BURST = 200


def _flood(broker: BrokerHandle, device_id: str, password: str, base_ms: int) -> int:
    """Publish FLOOD telemetry messages at QoS 1 as fast as the broker takes them; return PUBACKs."""
    acked = threading.Semaphore(0)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(device_id, password)
    client.max_inflight_messages_set(1000)
    client.on_publish = lambda *_args: acked.release()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for seq in range(FLOOD):
            payload = encode(make(device_id, sample(seq), ts=base_ms + seq))
            client.publish(topic(device_id, Channel.TELEMETRY), payload, qos=1)
        return sum(1 for _ in range(FLOOD) if acked.acquire(timeout=30))
    finally:
        client.disconnect()
        client.loop_stop()


def _count(victoria: VictoriaHandle, device_id: str, fn: str = "count_over_time") -> float:
    rows = victoria.query(f'{fn}(telemetry_seq{{device="{device_id}"}}[1h])')
    return float(rows[0]["value"][1]) if rows else 0.0


def test_a_flooding_device_is_quarantined_and_honest_devices_lose_nothing(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    factory = make_registry(tmp_path, [*HONEST, FLOODER])
    settings = make_settings(tmp_path, broker, victoria).model_copy(
        update={
            "ingest_device_message_burst": BURST,
            "ingest_device_messages_per_s": 5.0,
            "ingest_quarantine_s": 600.0,
        }
    )
    base_ms = now_ms() - 10 * 60_000
    flood_password = broker.add_device(FLOODER)
    with running_ingest(settings, factory) as runtime:
        honest = [device_client(broker, device_id) for device_id in HONEST]
        flood_acks: list[int] = []
        flooder = threading.Thread(
            target=lambda: flood_acks.append(_flood(broker, FLOODER, flood_password, base_ms))
        )
        flooder.start()
        try:
            for seq in range(HONEST_SAMPLES):  # interleaved with the flood
                for client, device_id in zip(honest, HONEST, strict=True):
                    envelope = make(device_id, sample(seq), ts=base_ms + seq * 100)
                    client.publish(topic(device_id, Channel.TELEMETRY), encode(envelope))
            flooder.join(timeout=120)
        finally:
            for client in honest:
                client.close()
        assert flood_acks == [FLOOD]
        stats = runtime.stats
        wait_until(
            lambda: all(_count(victoria, d) == HONEST_SAMPLES for d in HONEST),
            timeout=60,
            message="honest samples",
        )
        for device_id in HONEST:
            assert _count(victoria, device_id, "sum_over_time") == sum(range(HONEST_SAMPLES))
        assert stats.value("devices_quarantined") == 1
        limited = stats.labeled("messages_rejected", "rate_limited")
        wait_until(
            lambda: _count(victoria, FLOODER) == FLOOD - limited, timeout=30, message="flooder's share"
        )
        assert limited >= FLOOD - BURST - 50  # only the burst (plus a few seconds' refill) got through
        assert runtime.pipeline.budgets is not None
        assert runtime.pipeline.budgets.quarantined() == [FLOODER]
        events = wait_until(
            lambda: victoria.query(f'event_count{{device="{FLOODER}",name="{QUARANTINE_EVENT}"}}'),
            timeout=30,
            message="staff event",
        )
        assert len(events) == 1
        assert runtime.ready()


def test_retained_telemetry_is_rejected_counted_and_cleared(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    device_id = "stb-iso-retain"
    factory = make_registry(tmp_path, [device_id])
    settings = make_settings(tmp_path, broker, victoria)
    base_ms = now_ms() - 60_000
    birth = Birth(agent_version="1.0", role="stb", boot_id="b", session=1)
    with running_ingest(settings, factory) as runtime:
        device = device_client(broker, device_id)
        try:
            device.publish(topic(device_id, Channel.STATE), encode(make(device_id, birth)), retain=True)
            retained = encode(make(device_id, sample(666), ts=base_ms))
            device.publish(topic(device_id, Channel.TELEMETRY), retained, retain=True)
            device.publish(
                topic(device_id, Channel.TELEMETRY), encode(make(device_id, sample(1), ts=base_ms + 1))
            )
            wait_until(lambda: _count(victoria, device_id) == 1, timeout=30, message="the plain sample")
        finally:
            device.close()
        assert runtime.stats.labeled("messages_rejected", "retained_not_allowed") == 1
        wait_until(lambda: runtime.stats.value("retained_cleared") == 1, message="cleared")
    # A fresh subscription gets the broker's retained messages again: the birth, but no telemetry.
    with running_ingest(settings, factory) as again:
        device = device_client(broker, device_id)
        try:
            marker = encode(make(device_id, sample(2), ts=base_ms + 2))
            device.publish(topic(device_id, Channel.TELEMETRY), marker)
            wait_until(lambda: _count(victoria, device_id) == 2, timeout=30, message="marker after retained")
        finally:
            device.close()
        assert again.stats.value("messages_received") >= 2  # the retained birth came back, and the marker
        assert again.stats.labeled("messages_rejected", "retained_not_allowed") == 0
    assert _count(victoria, device_id, "max_over_time") == 2  # seq 666 never stored
