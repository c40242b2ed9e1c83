"""Registry services: regions, stations, devices, tokens, filters and pagination (SQLite + PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from station_controller.errors import Conflict, InvalidInput, NotFound
from station_controller.kernel.clock import as_utc, utcnow
from station_controller.kernel.tokens import hash_token
from station_controller.registry import queries, service
from station_controller.registry.models import Device, Region
from station_controller.settings import Settings

VILLAGE = "河南省/南阳市/唐河县/城郊乡/王庄村"


def test_ensure_region_path_creates_missing_nodes_once(db: sessionmaker[Session]) -> None:
    with db() as session:
        leaf = service.ensure_region_path(session, path=VILLAGE)
        again = service.ensure_region_path(session, path=VILLAGE + "/")
        sibling = service.ensure_region_path(session, path="河南省/南阳市/唐河县/城郊乡/李庄村")
        paths = list(session.scalars(select(Region.path).order_by(Region.path)))
        parent = session.get(Region, leaf.parent_id)
    assert again.id == leaf.id
    assert leaf.name == "王庄村"
    assert parent is not None
    assert parent.path == "河南省/南阳市/唐河县/城郊乡"
    assert sibling.parent_id == leaf.parent_id
    assert len(paths) == 6


@pytest.mark.parametrize("path", ["", "a//b", "/", "a/" + "x" * 65])
def test_bad_region_paths_are_refused(db: sessionmaker[Session], path: str) -> None:
    with db() as session, pytest.raises(InvalidInput):
        service.ensure_region_path(session, path=path)


@pytest.mark.parametrize(
    ("role", "serial", "expected"),
    [
        ("stb", "SN0001", "stb-sn0001"),
        ("router", "AB:CD_01.x", "router-ab-cd-01-x"),
        ("stb", "0" * 80, "stb-" + "0" * 60),
    ],
)
def test_device_ids_derive_from_role_and_serial(role: str, serial: str, expected: str) -> None:
    assert service.device_id_for(role, serial) == expected


@pytest.mark.parametrize(
    ("role", "serial"), [("tv", "SN1"), ("stb", ""), ("stb", "-x"), ("stb", "a b"), ("stb", "é1")]
)
def test_bad_role_or_serial_is_refused(role: str, serial: str) -> None:
    with pytest.raises(InvalidInput):
        service.device_id_for(role, serial)


def test_create_device_stores_only_a_hash_of_its_one_time_token(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    with db() as session:
        service.create_station(session, code="s1", name="王庄站", region_path=VILLAGE, tags=["pilot"])
        device, token = service.create_device(
            session,
            settings=db_settings,
            station_code="s1",
            role="stb",
            serial="SN-1",
            mac="AA-BB-CC-00-11-22",
        )
    with db() as session:
        stored = session.get(Device, device.id)
        assert stored is not None
        assert stored.status == "pending"
        assert stored.token_hash == hash_token(token) != token
        assert stored.mac == "aa:bb:cc:00:11:22"
        assert stored.region_path == VILLAGE
        assert stored.token_expires_at is not None
        remaining = (as_utc(stored.token_expires_at) - utcnow()).total_seconds()
        assert db_settings.enrollment_token_ttl_s - 60 < remaining <= db_settings.enrollment_token_ttl_s


def test_duplicates_are_conflicts(db: sessionmaker[Session], db_settings: Settings) -> None:
    with db() as session:
        service.create_station(session, code="s1", name="one", region_path=VILLAGE)
        service.create_device(session, settings=db_settings, station_code="s1", role="stb", serial="SN1")
        with pytest.raises(Conflict):
            service.create_station(session, code="s1", name="again", region_path=VILLAGE)
        with pytest.raises(Conflict):
            service.create_device(
                session, settings=db_settings, station_code="s1", role="router", serial="SN1"
            )
        with pytest.raises(Conflict, match="similar serial"):
            service.create_device(session, settings=db_settings, station_code="s1", role="stb", serial="sn1")
        with pytest.raises(NotFound):
            service.create_device(
                session, settings=db_settings, station_code="nope", role="stb", serial="SN9"
            )
        with pytest.raises(InvalidInput):
            service.create_device(
                session, settings=db_settings, station_code="s1", role="stb", serial="SN2", mac="xx"
            )


def _seed(session: Session, settings: Settings) -> None:
    """Three regions (one whose name has LIKE wildcards), tags, both roles, mixed presence."""
    layout = [
        ("hn-001", "河南省/南阳市/唐河县", ["pilot"]),
        ("hn-002", "河南省/南阳市/唐河县/城郊乡", ["pilot", "mountain"]),
        ("hn-003", "河南省/南阳市/唐河县x", []),  # sibling whose path starts with the same text
        ("pct-01", "测试/50%_区", ["mountain"]),
        ("pct-02", "测试/50ab区", []),
    ]
    for code, region, tags in layout:
        service.create_station(session, code=code, name=f"站 {code}", region_path=region, tags=tags)
        for role in ("stb", "router"):
            service.create_device(
                session, settings=settings, station_code=code, role=role, serial=f"{code}-{role}"
            )
    service.apply_presence(
        session,
        updates=[
            {
                "id": "stb-hn-001-stb",
                "online": True,
                "agent_version": "1.2.0",
                "last_seen_at": datetime.now(UTC),
            },
            {"id": "router-hn-002-router", "online": True, "agent_version": "1.1.0"},
        ],
    )


def _ids(session: Session, **kwargs: Any) -> set[str]:
    flt = queries.DeviceFilter(**kwargs)
    rows, total = queries.list_devices(session, flt=flt, page=queries.Page(limit=500))
    assert total == len(rows)
    return {device.id for device, _code in rows}


def test_device_filters(db: sessionmaker[Session], db_settings: Settings) -> None:
    with db() as session:
        _seed(session, db_settings)
        assert _ids(session, region="河南省/南阳市/唐河县") == {
            "stb-hn-001-stb",
            "router-hn-001-router",
            "stb-hn-002-stb",
            "router-hn-002-router",
        }
        assert _ids(session, region="测试/50%_区") == {"stb-pct-01-stb", "router-pct-01-router"}
        assert _ids(session, region="测试/50%") == set()
        assert _ids(session, tag="mountain", role="stb") == {"stb-hn-002-stb", "stb-pct-01-stb"}
        assert _ids(session, online=True) == {"stb-hn-001-stb", "router-hn-002-router"}
        assert len(_ids(session, online=False)) == 8
        assert _ids(session, agent_version="1.1.0") == {"router-hn-002-router"}
        assert _ids(session, q="PCT-02") == {"stb-pct-02-stb", "router-pct-02-router"}
        assert _ids(session, q="%") == set()
        assert len(_ids(session, status="pending")) == 10
        assert _ids(session, station="hn-003", role="router") == {"router-hn-003-router"}


def test_keyset_and_offset_pagination_visit_every_device_once(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    with db() as session:
        _seed(session, db_settings)
        seen: list[str] = []
        after = None
        while True:
            rows, total = queries.list_devices(
                session, flt=queries.DeviceFilter(), page=queries.Page(limit=3, after=after)
            )
            assert total == 10
            seen += [d.id for d, _ in rows]
            if len(rows) < 3:
                break
            after = rows[-1][0].id
        offset_rows, _ = queries.list_devices(
            session, flt=queries.DeviceFilter(), page=queries.Page(limit=4, offset=8)
        )
    assert seen == sorted(seen)
    assert len(set(seen)) == 10
    assert [d.id for d, _ in offset_rows] == seen[8:]


def test_station_filters_tree_and_tags(db: sessionmaker[Session], db_settings: Settings) -> None:
    with db() as session:
        _seed(session, db_settings)
        stations, total = queries.list_stations(session, region="河南省/南阳市/唐河县", page=queries.Page())
        assert (total, [s.code for s in stations]) == (2, ["hn-001", "hn-002"])
        assert len(stations[1].devices) == 2
        assert {t.name for t in stations[1].tags} == {"pilot", "mountain"}
        tagged, _ = queries.list_stations(session, tag="mountain", q="pct", page=queries.Page())
        assert [s.code for s in tagged] == ["pct-01"]
        tree = queries.region_tree(session, root=None, depth=3)
        assert [n["name"] for n in tree] == ["河南省", "测试"] or [n["name"] for n in tree] == [
            "测试",
            "河南省",
        ]
        henan = next(n for n in tree if n["name"] == "河南省")
        assert [c["path"] for c in henan["children"][0]["children"]] == [
            "河南省/南阳市/唐河县",
            "河南省/南阳市/唐河县x",
        ]
        assert henan["children"][0]["children"][0]["children"] == []  # depth 3 stops above 城郊乡
        below = queries.region_tree(session, root="河南省/南阳市/唐河县", depth=1)
        assert [n["name"] for n in below] == ["城郊乡"]
        assert dict(queries.tag_counts(session)) == {"mountain": 2, "pilot": 2}


def test_apply_presence_writes_known_devices_and_skips_unknown(
    db: sessionmaker[Session], db_settings: Settings
) -> None:
    with db() as session:
        _seed(session, db_settings)
        updated = service.apply_presence(
            session,
            updates=[
                {"id": "stb-hn-003-stb", "online": True, "latest": {"rx_bps": 5.0}, "rx_bps": 5.0},
                {"id": "stb-gone", "online": True},
            ],
        )
        assert updated == 1
        with pytest.raises(ValueError, match="not presence columns"):
            service.apply_presence(session, updates=[{"id": "stb-hn-003-stb", "status": "enrolled"}])
    with db() as session:
        device = session.get(Device, "stb-hn-003-stb")
        assert device is not None
        assert device.online
        assert device.latest == {"rx_bps": 5.0}
        assert session.scalar(select(func.count()).select_from(Device).where(Device.online)) == 3
