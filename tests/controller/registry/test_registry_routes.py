"""Registry REST routes: stations, devices, CSV import with per-line errors, tree and tags."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from station_controller.kernel.tokens import hash_token
from station_controller.registry.models import Device, Station
from tests.controller.api.core_fixtures import Api

HEADER = "station_code,station_name,region_path,role,serial,mac,tags\n"
GOOD = HEADER + (
    "hn-001,王庄站,河南省/南阳市/唐河县/城郊乡/王庄村,stb,SN-A1,aa:bb:cc:00:00:01,pilot;mountain\n"
    "hn-001,王庄站,河南省/南阳市/唐河县/城郊乡/王庄村,router,RT-A1,,pilot;solar\n"
    '"hn-002","李庄站 ""B""",河南省/南阳市/唐河县/城郊乡/李庄村,stb,SN-B1,,\n'
)


def _upload(api: Api, text: str, headers: dict[str, str], fmt: str = "json"):  # type: ignore[no-untyped-def]
    files = {"file": ("stations.csv", text.encode("utf-8-sig"), "text/csv")}
    return api.client.post(f"/api/v1/stations/import?format={fmt}", files=files, headers=headers)


def _count(api: Api, model: type) -> int:
    with api.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_csv_import_creates_everything_and_returns_tokens_once(api: Api) -> None:
    operator = api.user("operator")
    reply = _upload(api, GOOD, operator)
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["stations_created"] == 2
    assert [(d["line"], d["device_id"]) for d in body["devices"]] == [
        (2, "stb-sn-a1"),
        (3, "router-rt-a1"),
        (4, "stb-sn-b1"),
    ]
    with api.sessions() as session:
        for item in body["devices"]:
            device = session.get(Device, item["device_id"])
            assert device is not None
            assert device.token_hash == hash_token(item["token"])
        station = session.scalar(select(Station).where(Station.code == "hn-002"))
        assert station is not None
        assert station.name == '李庄站 "B"'
    tags = api.client.get("/api/v1/stations/hn-001", headers=operator).json()["tags"]
    assert tags == ["mountain", "pilot", "solar"]
    listed = api.client.get("/api/v1/devices?tag=mountain", headers=operator).json()
    assert [d["id"] for d in listed["items"]] == ["router-rt-a1", "stb-sn-a1"]
    assert "token" not in listed["items"][0]
    assert "token_hash" not in listed["items"][0]


def test_csv_import_can_answer_with_a_csv_download(api: Api) -> None:
    reply = _upload(api, GOOD, api.user("operator"), fmt="csv")
    assert reply.status_code == 201
    assert reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert [r["serial"] for r in rows] == ["SN-A1", "RT-A1", "SN-B1"]
    assert all(len(r["token"]) >= 40 for r in rows)


def test_csv_import_reports_bad_lines_and_creates_nothing(api: Api) -> None:
    operator = api.user("operator")
    assert _upload(api, HEADER + "old-1,旧站,河南省/旧区,stb,SN-OLD,,\n", operator).status_code == 201
    bad = HEADER + (
        "hn-001,王庄站,河南省/南阳市/唐河县/城郊乡/王庄村,stb,SN-A1,,\n"  # 2 fine on its own
        "hn-001,王庄站,河南省/南阳市/唐河县/城郊乡/王庄村,tv,SN-A2,,\n"  # 3 bad role
        "hn-001,王庄站,河南省/南阳市/唐河县/城郊乡/王庄村,router,SN-A3,zz:zz,\n"  # 4 bad mac
        "hn-001,别的名字,河南省/南阳市/唐河县/城郊乡/王庄村,router,SN-A4,,\n"  # 5 station differs
        "hn-003,站,河南省//唐河县,stb,SN-A5,,\n"  # 6 empty region level
        "hn-004,站,河南省/南阳市,stb,SN-A1,,\n"  # 7 serial repeats line 2
        "hn-005,站,河南省/南阳市,stb,SN-OLD,,\n"  # 8 already registered
        ",站,河南省/南阳市,stb,SN-A6,,\n"  # 9 no code
    )
    before = (_count(api, Station), _count(api, Device))
    reply = _upload(api, bad, operator)
    assert reply.status_code == 422
    body = reply.json()
    assert body["error"] == "invalid_input"
    assert "nothing was created" in body["detail"]
    assert [e["line"] for e in body["errors"]] == [3, 4, 5, 6, 7, 8, 9]
    assert "role" in body["errors"][0]["error"]
    assert "line 2" in body["errors"][4]["error"]
    assert (_count(api, Station), _count(api, Device)) == before


def test_csv_import_refuses_a_wrong_header_and_non_utf8(api: Api) -> None:
    operator = api.user("operator")
    reply = _upload(api, "code,name\nx,y\n", operator)
    assert reply.status_code == 422
    assert "station_code" in reply.json()["detail"]
    files = {"file": ("s.csv", HEADER.encode() + "hn,站,河南省,stb,SN1,,\n".encode("gbk"), "text/csv")}
    reply = api.client.post("/api/v1/stations/import", files=files, headers=operator)
    assert reply.status_code == 422
    assert "UTF-8" in reply.json()["detail"]


def test_station_and_device_routes(api: Api) -> None:
    operator, viewer = api.user("operator"), api.user("viewer")
    station = {"code": "s-1", "name": "一号站", "region_path": "河南省/南阳市", "tags": ["pilot"]}
    assert api.client.post("/api/v1/stations", json=station, headers=operator).status_code == 201
    assert api.client.post("/api/v1/stations", json=station, headers=operator).status_code == 409
    assert (
        api.client.post("/api/v1/stations", json=station | {"code": "s-2"}, headers=viewer).status_code == 403
    )
    created = api.client.post(
        "/api/v1/devices", json={"station_code": "s-1", "role": "router", "serial": "R1"}, headers=operator
    )
    assert created.status_code == 201
    assert created.json()["token"]
    assert created.json()["device"]["status"] == "pending"
    got = api.client.get("/api/v1/stations/s-1", headers=viewer).json()
    assert got["region_path"] == "河南省/南阳市"
    assert [d["id"] for d in got["devices"]] == ["router-r1"]
    assert api.client.get("/api/v1/devices/router-r1", headers=viewer).json()["station_code"] == "s-1"
    assert api.client.get("/api/v1/devices/nope", headers=viewer).status_code == 404
    page = api.client.get("/api/v1/stations?region=河南省&limit=1", headers=viewer).json()
    assert page["total"] == 1
    assert page["next_after"] == "s-1"
    tree = api.client.get("/api/v1/regions/tree?depth=2", headers=viewer).json()
    assert tree[0]["name"] == "河南省"
    assert tree[0]["children"][0]["path"] == "河南省/南阳市"
    assert api.client.get("/api/v1/tags", headers=viewer).json() == [{"name": "pilot", "stations": 1}]
    assert api.client.get("/api/v1/devices?role=tv", headers=viewer).status_code == 422
