"""GET /api/v1/devices renders any stored device value: deep hardware, NaN rates, odd capabilities."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from station_controller.ingest.devices import KnownDevices
from station_controller.ingest.flusher import PresenceFlusher
from station_controller.ingest.presence import PresenceStore
from station_controller.ingest.registry_io import SqlRegistry
from station_controller.observability.metrics import IngestStats
from station_controller.registry.models import Device
from station_protocol import Birth
from tests.controller.api.core_fixtures import Api

CSV = (
    "station_code,station_name,region_path,role,serial,mac,tags\n"
    "hn-001,王庄站,河南省/南阳市/王庄村,stb,SN-A1,,\n"
    "hn-001,王庄站,河南省/南阳市/王庄村,router,RT-A1,,\n"
)


def _nested(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cursor = root
    for _ in range(depth):
        cursor["n"] = {}
        cursor = cursor["n"]
    return root


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _register(api: Api) -> dict[str, str]:
    operator = api.user("operator")
    files = {"file": ("stations.csv", CSV.encode(), "text/csv")}
    reply = api.client.post("/api/v1/stations/import", files=files, headers=operator)
    assert reply.status_code == 201, reply.text
    return operator


def test_a_device_stored_with_hostile_values_does_not_break_the_list(api: Api) -> None:
    operator = _register(api)
    with api.sessions() as session, session.begin():
        # As if written before presence bounded what it keeps (or by anything else).
        session.execute(
            update(Device)
            .where(Device.id == "router-rt-a1")
            .values(
                hardware={"arch": "mips", "deep": _nested(400)},
                latest={"interfaces": [_nested(300)], "cpu_pct": 1.5},
                capabilities=["ping", {"x": 1}, 7],
                rx_bps=float("inf"),
            )
        )
    listed = api.client.get("/api/v1/devices", headers=operator)
    assert listed.status_code == 200, listed.text
    router = next(d for d in listed.json()["items"] if d["id"] == "router-rt-a1")
    assert router["hardware"]["arch"] == "mips"
    assert _depth(router["hardware"]) <= 9
    assert router["latest"]["cpu_pct"] == 1.5
    assert router["capabilities"] == ["ping", "7"]
    assert router["rx_bps"] is None
    one = api.client.get("/api/v1/devices/router-rt-a1", headers=operator)
    assert one.status_code == 200, one.text
    assert [d["id"] for d in listed.json()["items"]] == ["router-rt-a1", "stb-sn-a1"]


def test_a_deeply_nested_birth_through_presence_keeps_the_list_working(api: Api) -> None:
    operator = _register(api)
    stats = IngestStats()
    registry = SqlRegistry(api.sessions)
    presence = PresenceStore(stats=stats, offline_after_s=60)
    birth = Birth(
        agent_version="0.2.0",
        role="router",
        boot_id="b",
        session=3,
        hardware={"deep": _nested(5000), "model": "x\ud800"},  # below the decoder, which refuses it
    )
    presence.birth("router-rt-a1", birth, now=100.0)
    flusher = PresenceFlusher(
        presence=presence, repository=registry, known=KnownDevices(registry), stats=stats, interval_s=1
    )
    assert flusher.flush_once() == 1
    listed = api.client.get("/api/v1/devices", headers=operator)
    assert listed.status_code == 200, listed.text
    router = next(d for d in listed.json()["items"] if d["id"] == "router-rt-a1")
    assert router["online"] is True
    assert router["hardware"]["model"] == "x\ufffd"
