"""Every API timestamp carries its time zone: SQLite hands back naive datetimes, responses say UTC."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from tests.controller.api.core_fixtures import Api

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")


def _timestamps(value: Any, path: str = "") -> dict[str, str]:
    """Every non-null ``*_at`` string anywhere in a JSON document, by path."""
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_at") and isinstance(item, str):
                found[f"{path}.{key}"] = item
            found.update(_timestamps(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(_timestamps(item, f"{path}[{index}]"))
    return found


def _assert_utc(document: Any, *, expect: set[str]) -> None:
    stamps = _timestamps(document)
    assert expect <= set(stamps), f"expected timestamps {expect} in {stamps}"
    for path, text in stamps.items():
        assert ISO_UTC.match(text), f"{path} = {text!r} has no explicit UTC offset"
        assert datetime.fromisoformat(text).utcoffset() == timedelta(0)


def test_registry_commands_and_staff_read_back_from_sqlite_with_utc_offsets(api: Api) -> None:
    operator, admin = api.user("operator", "op.ts"), api.user("admin")
    station = {"code": "st-ts", "name": "站", "region_path": "河南省/南阳市"}
    assert api.client.post("/api/v1/stations", json=station, headers=operator).status_code == 201
    created = api.client.post(
        "/api/v1/devices", json={"station_code": "st-ts", "role": "router", "serial": "TS1"}, headers=operator
    ).json()
    assert (
        api.client.post("/api/v1/enroll", json={"serial": "TS1", "token": created["token"]}).status_code
        == 200
    )
    device_id = created["device"]["id"]
    sent = api.client.post(f"/api/v1/devices/{device_id}/commands", json={"name": "ping"}, headers=operator)
    assert sent.status_code == 202

    _assert_utc(
        api.client.get(f"/api/v1/devices/{device_id}", headers=operator).json(), expect={".enrolled_at"}
    )
    _assert_utc(api.client.get("/api/v1/stations/st-ts", headers=operator).json(), expect={".created_at"})
    _assert_utc(
        api.client.get(f"/api/v1/commands/{sent.json()['id']}", headers=operator).json(),
        expect={".created_at", ".expires_at"},
    )
    _assert_utc(api.client.get("/api/v1/staff", headers=admin).json(), expect={"[0].created_at"})
