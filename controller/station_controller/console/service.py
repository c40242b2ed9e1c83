"""Read-side queries behind the console pages: filtered device lists, counts, station and device views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from ..commands.service import command_history
from ..errors import NotFound
from ..kernel.clock import as_utc
from ..registry.models import Device, Region, Station, Tag
from ..registry.queries import DeviceFilter, device_conditions, dialect_of

_Stmt = TypeVar("_Stmt", bound=Select)  # type: ignore[type-arg]
PAGE_SIZES = (25, 50, 100)
MAX_REGION_CHOICES = 500
MAX_STATUS_IDS = 200
# County by county, a station's devices together; no join, so a page costs ~20 ms at 100,000 devices
# on SQLite (measured with a throwaway script; the registry API has its own benchmark).
LIST_ORDER = (Device.region_path, Device.station_id, Device.id)


@dataclass(frozen=True)
class ListFilter:
    """The station-list filters as given in the query string (empty string = no filter)."""

    region: str = ""
    tag: str = ""
    role: str = ""
    state: str = ""  # online | offline
    version: str = ""
    q: str = ""
    page: int = 1
    per_page: int = 50

    def query_items(self) -> list[tuple[str, str]]:
        """Non-empty filters as (name, value) pairs, for links that keep the filter (page excluded)."""
        pairs = [
            ("region", self.region),
            ("tag", self.tag),
            ("role", self.role),
            ("state", self.state),
            ("version", self.version),
            ("q", self.q),
        ]
        items = [(k, v) for k, v in pairs if v]
        if self.per_page != 50:
            items.append(("per_page", str(self.per_page)))
        return items


@dataclass(frozen=True)
class DeviceRow:
    id: str
    role: str
    status: str
    online: bool
    agent_version: str | None
    last_seen_at: datetime | None
    station_id: int
    station_code: str
    station_name: str
    region_path: str


@dataclass(frozen=True)
class DevicePage:
    rows: list[DeviceRow]
    total: int
    online: int
    offline: int
    page: int
    pages: int


@dataclass(frozen=True)
class Choices:
    """Values offered by the filter form."""

    regions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)


def _filtered(stmt: _Stmt, flt: ListFilter, dialect: str, *, with_state: bool = True) -> _Stmt:
    """Apply every filter but pagination (the registry's own conditions); ``with_state`` False lets
    counts ignore the online filter."""
    online = flt.state == "online" if with_state and flt.state in ("online", "offline") else None
    device_filter = DeviceFilter(
        region=flt.region or None,
        tag=flt.tag or None,
        role=flt.role or None,
        online=online,
        agent_version=flt.version or None,
        q=flt.q.strip() or None,
    )
    return stmt.where(*device_conditions(device_filter, dialect))


def _counts(session: Session, flt: ListFilter) -> dict[bool, int]:
    """Devices online / offline among those matching every filter except the state filter."""
    stmt = _filtered(
        select(Device.online, func.count()), flt, dialect_of(session), with_state=False
    ).group_by(Device.online)
    return {bool(online): int(n) for online, n in session.execute(stmt)}


def list_devices(session: Session, *, flt: ListFilter) -> DevicePage:
    """One page of devices matching ``flt`` plus online/offline counts over the whole filtered set."""
    by_state = _counts(session, flt)
    online, offline = by_state.get(True, 0), by_state.get(False, 0)
    total = {"online": online, "offline": offline}.get(flt.state, online + offline)
    pages = max(1, -(-total // flt.per_page))
    page = min(max(1, flt.page), pages)
    stmt = (
        _filtered(select(Device).options(selectinload(Device.station)), flt, dialect_of(session))
        .order_by(*LIST_ORDER)
        .limit(flt.per_page)
        .offset((page - 1) * flt.per_page)
    )
    rows = [_row(device) for device in session.scalars(stmt)]
    return DevicePage(rows=rows, total=total, online=online, offline=offline, page=page, pages=pages)


def _row(device: Device) -> DeviceRow:
    station = device.station
    return DeviceRow(
        id=device.id,
        role=device.role,
        status=device.status,
        online=bool(device.online),
        agent_version=device.agent_version,
        last_seen_at=as_utc(device.last_seen_at) if device.last_seen_at else None,
        station_id=station.id,
        station_code=station.code,
        station_name=station.name,
        region_path=device.region_path,
    )


def filter_choices(session: Session) -> Choices:
    """Region paths (capped), tag names and agent versions for the filter form."""
    regions = session.scalars(select(Region.path).order_by(Region.path).limit(MAX_REGION_CHOICES))
    tags = session.scalars(select(Tag.name).order_by(Tag.name).limit(MAX_REGION_CHOICES))
    versions = session.scalars(
        select(Device.agent_version).where(Device.agent_version.is_not(None)).distinct().limit(100)
    )
    return Choices(regions=list(regions), tags=list(tags), versions=sorted(v for v in versions if v))


def live_status(session: Session, *, flt: ListFilter, device_ids: Sequence[str]) -> dict[str, Any]:
    """What the list page polls: online flag per shown device and the filtered counts."""
    ids = list(dict.fromkeys(device_ids))[:MAX_STATUS_IDS]
    rows = session.execute(select(Device.id, Device.online, Device.last_seen_at).where(Device.id.in_(ids)))
    by_state = _counts(session, flt)
    return {
        "devices": {
            device_id: {"online": bool(online), "last_seen_at": _iso(last_seen)}
            for device_id, online, last_seen in rows
        },
        "counts": {"online": by_state.get(True, 0), "offline": by_state.get(False, 0)},
    }


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def get_station(session: Session, *, station_id: int) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"station {station_id} does not exist; pick one from the station list")
    return station


def get_device(session: Session, *, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"device {device_id!r} does not exist; pick one from the station list")
    return device


def station_devices(session: Session, *, station_id: int) -> list[Device]:
    return list(session.scalars(select(Device).where(Device.station_id == station_id).order_by(Device.role)))


def station_live(session: Session, *, station_id: int) -> dict[str, Any]:
    """Latest values of a station's devices, for the station page's refresh."""
    return {
        device.id: {
            "online": bool(device.online),
            "last_seen_at": _iso(device.last_seen_at),
            "latest": latest_values(device),
        }
        for device in station_devices(session, station_id=station_id)
    }


def latest_values(device: Device) -> dict[str, float | None]:
    """The headline numbers from the device's last telemetry body (None when unknown)."""
    body = device.latest or {}

    def num(key: str) -> float | None:
        value = body.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    def pct(used: str, total: str) -> float | None:
        u, t = num(used), num(total)
        return round(100.0 * u / t, 1) if u is not None and t else None

    return {
        "cpu_pct": num("cpu_pct"),
        "mem_pct": pct("mem_used", "mem_total"),
        "disk_pct": pct("disk_used", "disk_total"),
        "uptime_s": num("uptime_s"),
        "temp_c": num("temp_c"),
        "rx_bps": device.rx_bps,
        "tx_bps": device.tx_bps,
    }


def device_view(session: Session, *, device_id: str) -> dict[str, Any]:
    """What the device page shows: the device and its latest 50 commands; NotFound for an unknown id."""
    device = get_device(session, device_id=device_id)
    commands, _total = command_history(session, device_id=device_id, limit=50, offset=0)
    return {"device": device, "commands": commands, "new_token": None}
