"""Bad values injected below the decoder (defence in depth) hurt only the device they belong to.

The real ingest with Mosquitto and VictoriaMetrics: honest devices publish while one device's values
that ``station_protocol`` would refuse (far-future and huge timestamps, out-of-range integers, surrogate
strings, deep nesting, poison line-protocol points) are fed straight into presence and the TSDB writer.
Every honest sample is stored, presence of honest devices is current, no thread dies, ingest stays ready.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from station_controller import supervisor
from station_controller.registry.models import Device
from station_protocol import Birth, Channel, encode, make, now_ms, topic
from tests.integration.ingest_rig import device_client, make_registry, make_settings, running_ingest, sample
from tests.support import BrokerHandle, VictoriaHandle, wait_until

pytestmark = pytest.mark.integration
HONEST = ["stb-poison-h1", "stb-poison-h2"]
EVIL = "stb-poison-evil"
PER_DEVICE = 30


def _deep(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cursor = root
    for _ in range(depth):
        cursor["n"] = {}
        cursor = cursor["n"]
    return root


def _inject(runtime: Any, now: float) -> None:
    presence, writer = runtime.presence, runtime.writer
    hostile = Birth(
        agent_version="1\ud800",
        role="stb",
        boot_id="\x00" * 100,
        session=2**80,
        capabilities=("x\udfff",),
        hardware={"deep": _deep(3000), "nan": float("nan")},
        config_version=2**70,
    )
    presence.birth(EVIL, hostile, now)
    presence.telemetry(EVIL, sample(1), ts_ms=10**30, now=now)
    presence.telemetry(EVIL, sample(2), ts_ms=now_ms() + 400 * 86_400_000, now=now)
    presence.restore([{"id": EVIL, "reported_config_version": 2**90}])  # straight to the flusher
    ts = now_ms()
    writer.submit(
        [
            f"event,device={EVIL},name=x\ud800 count=1i {ts}",
            f"telemetry,device={EVIL} seq=1i {ts + 10**15}",
            f"telemetry,device={EVIL} seq={2**70}i {ts}",
            f"telemetry,device={EVIL} seq=1i 5",
        ]
    )


def _stored(victoria: VictoriaHandle, device_id: str) -> float:
    rows = victoria.query(f'count_over_time(telemetry_seq{{device="{device_id}"}}[1h])')
    return float(rows[0]["value"][1]) if rows else 0.0


def test_injected_bad_values_hurt_only_their_device(
    tmp_path: Path, broker: BrokerHandle, victoria: VictoriaHandle
) -> None:
    factory = make_registry(tmp_path, [*HONEST, EVIL])
    restarts = supervisor.restarts()
    base_ms = now_ms() - 5 * 60_000
    with running_ingest(make_settings(tmp_path, broker, victoria), factory) as runtime:
        clients = [device_client(broker, device_id) for device_id in HONEST]
        try:
            for seq in range(PER_DEVICE):
                for device_id, client in zip(HONEST, clients, strict=True):
                    envelope = make(device_id, sample(seq), ts=base_ms + seq * 100)
                    client.publish(topic(device_id, Channel.TELEMETRY), encode(envelope))
                if seq == PER_DEVICE // 2:
                    _inject(runtime, now_ms() / 1000)
                assert runtime.ready(), runtime.problems()
            for device_id in HONEST:
                wait_until(
                    lambda d=device_id: _stored(victoria, d) == PER_DEVICE,
                    timeout=30,
                    message=f"{device_id} stored",
                )
            wait_until(
                lambda: runtime.stats.labeled("points_rejected", "timestamp_in_future") == 1,
                message="poison points counted",
            )
            wait_until(lambda: _latest_seq(factory, HONEST) == {PER_DEVICE - 1}, message="presence current")
            assert runtime.ready(), runtime.problems()
        finally:
            for client in clients:
                client.close()
        stats = runtime.stats
        assert stats.labeled("points_rejected", "encoding") == 1
        assert stats.labeled("points_rejected", "int_out_of_range") == 1
        assert stats.labeled("points_rejected", "timestamp_too_old") == 1
        assert stats.value("presence_values_clamped") >= 3
        assert stats.value("presence_rows_rejected") == 1  # the raw out-of-range row, isolated
    assert supervisor.restarts() == restarts  # no thread crashed


def _latest_seq(factory: Any, device_ids: list[str]) -> set[int]:
    with factory() as session:
        rows = [session.get(Device, device_id) for device_id in device_ids]
    return {int(row.latest["seq"]) for row in rows if row is not None and row.latest}
