"""Ingest against real Mosquitto + VictoriaMetrics: hostile input is counted by reason, ingest keeps going,
presence reaches the registry and valid telemetry reaches the TSDB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from station_controller.registry.models import Device
from station_protocol import Birth, Channel, Event, encode, make, now_ms, topic
from tests.integration.ingest_rig import device_client, make_registry, make_settings, running_ingest, sample
from tests.support import BrokerHandle, VictoriaHandle, wait_until

pytestmark = pytest.mark.integration
DEVICE = "stb-ingest-a1"
STRANGER = "stb-ingest-unknown"
REJECTS = {"malformed": 1, "wrong_version": 1, "unknown_kind": 1, "spoofed": 2, "bad_topic": 1}


def raw(dev: str, kind: str, body: dict[str, object], v: int = 1) -> bytes:
    envelope = {"v": v, "kind": kind, "id": f"{kind}-{now_ms()}", "ts": now_ms(), "dev": dev, "body": body}
    return json.dumps(envelope).encode()


def test_hostile_messages_are_counted_and_valid_telemetry_still_lands(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    factory = make_registry(tmp_path, [DEVICE])
    with running_ingest(make_settings(tmp_path, broker, victoria), factory) as runtime:
        device = device_client(broker, DEVICE)
        stranger = device_client(broker, STRANGER)
        admin = broker.controller_client()
        assert not admin.connect().is_failure
        telemetry_topic = topic(DEVICE, Channel.TELEMETRY)
        birth = Birth(agent_version="9.9.9", role="stb", boot_id="boot-1", session=3)
        try:
            device.publish(topic(DEVICE, Channel.STATE), encode(make(DEVICE, birth)))
            device.publish(telemetry_topic, b'{"v":1,"kind":"telemetry"')
            device.publish(telemetry_topic, raw(DEVICE, "telemetry", {"seq": 1}, v=2))
            device.publish(telemetry_topic, raw(DEVICE, "selfie", {}))
            device.publish(telemetry_topic, encode(make("stb-someone-else", sample(1))))
            device.publish(telemetry_topic, encode(make(DEVICE, Event(name="wrong-channel"))))
            # Devices cannot publish outside their prefix (ACL); the service account can.
            admin.publish("st/v1/STB A/telemetry", encode(make(DEVICE, sample(1))))
            stranger.publish(topic(STRANGER, Channel.TELEMETRY), encode(make(STRANGER, sample(1))))
            stats = runtime.stats
            wait_until(
                lambda: {r: stats.labeled("messages_rejected", r) for r in REJECTS} == REJECTS,
                message="every hostile message counted by reason",
            )
            wait_until(lambda: stats.labeled("messages_rejected", "unknown_device") >= 1, message="stranger")
            assert runtime.ready()

            device.publish(telemetry_topic, encode(make(DEVICE, sample(4242))))
            rows = wait_until(
                lambda: victoria.query(f'telemetry_seq{{device="{DEVICE}"}}'), timeout=30, message="telemetry"
            )
            assert [float(row["value"][1]) for row in rows] == [4242.0]
            assert rows[0]["metric"] == {"__name__": "telemetry_seq", "device": DEVICE, "role": "stb"}
            assert victoria.query(f'telemetry_seq{{device="{STRANGER}"}}') == []
            assert stats.labeled("messages_rejected", "too_large") == 0
        finally:
            for client in (device, stranger, admin):
                client.close()

        def registry_row() -> Device | None:
            with factory() as session:
                row = session.get(Device, DEVICE)
                return row if row is not None and row.latest is not None and row.agent_version else None

        row = wait_until(registry_row, message="presence flushed to the registry")
    assert row is not None
    assert row.online is True
    assert row.agent_version == "9.9.9"
    assert row.latest is not None
    assert row.latest["seq"] == 4242


def test_oversized_payload_is_refused_by_the_broker_and_ingest_keeps_going(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    device_id = "stb-ingest-big"
    factory = make_registry(tmp_path, [device_id])
    oversized = raw(device_id, "event", {"name": "x", "severity": "info", "detail": {"pad": "x" * 70_000}})
    with running_ingest(make_settings(tmp_path, broker, victoria), factory) as runtime:
        big = device_client(broker, device_id)
        try:
            # Mosquitto answers a packet over message_size_limit by closing the connection (protocol error);
            # the decode layer's own 64 KiB check is covered in tests/controller/ingest.
            with pytest.raises(AssertionError, match="PUBACK"):
                big.publish(topic(device_id, Channel.EVENT), oversized, timeout=3)
            wait_until(lambda: big.disconnects, message="broker dropped the oversized publisher")
        finally:
            big.close()
        device = device_client(broker, device_id)
        try:
            device.publish(topic(device_id, Channel.TELEMETRY), encode(make(device_id, sample(7))))
            wait_until(
                lambda: victoria.query(f'telemetry_seq{{device="{device_id}"}}'),
                timeout=30,
                message="telemetry",
            )
        finally:
            device.close()
        assert runtime.stats.labeled("device_events", "info") == 0
        assert runtime.ready()


def test_uplinks_published_while_the_controller_is_down_arrive_after_it_restarts(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    device_id = "stb-ingest-restart"
    factory = make_registry(tmp_path, [device_id])
    settings = make_settings(tmp_path, broker, victoria)
    base_ms = now_ms() - 60_000
    with running_ingest(settings, factory):
        pass  # the broker now holds our persistent session and its shared subscription
    device = device_client(broker, device_id)
    try:
        for seq in range(20):
            envelope = make(device_id, sample(seq), ts=base_ms + seq * 100)
            device.publish(topic(device_id, Channel.TELEMETRY), encode(envelope))
    finally:
        device.close()
    with running_ingest(settings, factory) as runtime:
        query = f'count_over_time(telemetry_seq{{device="{device_id}"}}[1h])'
        rows = wait_until(
            lambda: [r for r in victoria.query(query) if r["value"][1] == "20"], timeout=30, message="queued"
        )
        assert len(rows) == 1
        assert runtime.stats.value("messages_received") >= 20
