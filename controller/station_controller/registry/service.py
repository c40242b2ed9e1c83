"""Registry services: regions, stations, devices and one-time enrollment tokens (each call commits)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, select, update
from sqlalchemy.orm import Session

from station_protocol import is_valid_device_id

from ..errors import Conflict, InvalidInput, NotFound
from ..kernel.clock import utcnow
from ..kernel.tokens import hash_token, new_token
from ..settings import Settings
from .models import Device, Region, Station, Tag

log = logging.getLogger(__name__)

ROLES = ("stb", "router")
MAX_REGION_DEPTH = 8
_SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_MAC = re.compile(r"^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$")
# Columns ingest may write through apply_presence; everything else belongs to staff actions.
PRESENCE_COLUMNS = frozenset(
    {
        "online",
        "last_seen_at",
        "agent_version",
        "boot_id",
        "session",
        "hardware",
        "capabilities",
        "latest",
        "latest_at",
        "reported_config_version",
        "rx_bps",
        "tx_bps",
    }
)


def split_region_path(path: str) -> list[str]:
    """Validated name parts of ``A/B/C``.

    Raises:
        InvalidInput: empty path, empty or over-long level, or too deep.
    """
    parts = [p.strip() for p in path.strip().strip("/").split("/")]
    if not path.strip() or any(not p for p in parts):
        raise InvalidInput(f"region path {path!r} has an empty level; write it like 河南省/南阳市/唐河县")
    if len(parts) > MAX_REGION_DEPTH or any(len(p) > 64 for p in parts):
        raise InvalidInput(f"region path {path!r}: at most {MAX_REGION_DEPTH} levels of <= 64 characters")
    return parts


def device_id_for(role: str, serial: str) -> str:
    """Device id (= MQTT username) derived from role and serial, e.g. ``stb-sn0012ab``.

    Raises:
        InvalidInput: unknown role, or a serial that yields no valid id.
    """
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {list(ROLES)}")
    if not _SERIAL.match(serial):
        raise InvalidInput(
            f"serial {serial!r}: use 1-128 of [A-Za-z0-9._:-], starting with a letter or digit"
        )
    slug = re.sub(r"[^a-z0-9]+", "-", serial.lower()).strip("-")
    device_id = f"{role}-{slug}"[:64].rstrip("-")
    if not is_valid_device_id(device_id):
        raise InvalidInput(f"serial {serial!r} does not give a valid device id ({device_id!r})")
    return device_id


def normalise_mac(mac: str | None) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` or None; raises InvalidInput for anything else."""
    if mac is None or not mac.strip():
        return None
    value = mac.strip().lower()
    if not _MAC.match(value):
        raise InvalidInput(f"mac {mac!r} is not a MAC address like aa:bb:cc:dd:ee:ff")
    digits = re.sub(r"[^0-9a-f]", "", value)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def add_region_path(session: Session, parts: Sequence[str], cache: dict[str, Region] | None = None) -> Region:
    """Find or add every node of ``parts`` (no commit)."""
    cache = {} if cache is None else cache
    parent: Region | None = None
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        node = cache.get(path) or session.scalar(select(Region).where(Region.path == path))
        if node is None:
            node = Region(name=parts[depth - 1], path=path, parent_id=parent.id if parent else None)
            session.add(node)
            session.flush()
        cache[path] = node
        parent = node
    assert parent is not None
    return parent


def ensure_region_path(session: Session, *, path: str) -> Region:
    """The region node for ``path``, creating missing ancestors."""
    region = add_region_path(session, split_region_path(path))
    session.commit()
    return region


def tags_named(session: Session, names: Iterable[str], cache: dict[str, Tag] | None = None) -> list[Tag]:
    """Find or add tags (no commit)."""
    cache = {} if cache is None else cache
    tags = []
    for raw in dict.fromkeys(n.strip() for n in names if n.strip()):
        if len(raw) > 64:
            raise InvalidInput(f"tag {raw[:20]!r}... is longer than 64 characters")
        tag = cache.get(raw) or session.scalar(select(Tag).where(Tag.name == raw))
        if tag is None:
            tag = Tag(name=raw)
            session.add(tag)
        cache[raw] = tag
        tags.append(tag)
    return tags


def add_station(session: Session, *, code: str, name: str, region: Region, tags: list[Tag]) -> Station:
    """Add a station (no commit); Conflict when the code is taken."""
    code = code.strip()
    if not code or len(code) > 64 or not name.strip() or len(name) > 128:
        raise InvalidInput("station code (1-64 chars) and name (1-128 chars) are required")
    if session.scalar(select(Station.id).where(Station.code == code)) is not None:
        raise Conflict(f"station {code!r} already exists; pick another code or add devices to it")
    station = Station(code=code, name=name.strip(), region_id=region.id, created_at=utcnow(), tags=tags)
    station.region = region
    session.add(station)
    session.flush()
    return station


def create_station(
    session: Session, *, code: str, name: str, region_path: str, tags: Sequence[str] = ()
) -> Station:
    station = add_station(
        session,
        code=code,
        name=name,
        region=add_region_path(session, split_region_path(region_path)),
        tags=tags_named(session, tags),
    )
    session.commit()
    log.info("station %s created in %s", station.code, station.region.path)
    return station


def issue_token(device: Device, *, settings: Settings) -> str:
    """Put ``device`` back to pending with a fresh one-time token; old credentials are dropped."""
    token = new_token()
    device.token_hash = hash_token(token)
    device.token_expires_at = utcnow() + timedelta(seconds=settings.enrollment_token_ttl_s)
    device.status = "pending"
    device.mqtt_password_hash = None
    return token


def search_text_for(device_id: str, serial: str, mac: str | None, station: Station) -> str:
    """What the device list's free-text search matches, lower-cased so one LIKE serves both backends."""
    return " ".join(filter(None, (device_id, serial, mac, station.code, station.name))).lower()[:512]


def add_device(
    session: Session, *, settings: Settings, station: Station, role: str, serial: str, mac: str | None
) -> tuple[Device, str]:
    """Add a pending device with a one-time token (no commit)."""
    device_id = device_id_for(role, serial)
    if session.scalar(select(Device.id).where(Device.serial == serial)) is not None:
        raise Conflict(f"a device with serial {serial!r} is already registered; re-issue its token instead")
    if session.get(Device, device_id) is not None:
        raise Conflict(f"device id {device_id!r} is taken by a similar serial; contact support to rename")
    device = Device(
        id=device_id,
        station_id=station.id,
        role=role,
        serial=serial,
        mac=normalise_mac(mac),
        search_text=search_text_for(device_id, serial, normalise_mac(mac), station),
        region_path=station.region.path,
        status="pending",
        online=False,
        desired_config_version=0,
        reported_config_version=0,
    )
    token = issue_token(device, settings=settings)
    session.add(device)
    session.flush()
    return device, token


def create_device(
    session: Session, *, settings: Settings, station_code: str, role: str, serial: str, mac: str | None = None
) -> tuple[Device, str]:
    """Register a device on a station; returns it and its one-time token (shown once)."""
    station = get_station(session, code=station_code)
    device, token = add_device(session, settings=settings, station=station, role=role, serial=serial, mac=mac)
    session.commit()
    log.info("%s registered on station %s (serial %s)", device.id, station.code, serial)
    return device, token


def get_station(session: Session, *, code: str) -> Station:
    station = session.scalar(select(Station).where(Station.code == code))
    if station is None:
        raise NotFound(f"station {code!r} does not exist; list stations with GET /api/v1/stations")
    return station


def get_device(session: Session, *, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"device {device_id!r} does not exist; list devices with GET /api/v1/devices")
    return device


def apply_presence(session: Session, *, updates: Sequence[Mapping[str, Any]]) -> int:
    """Bulk-write ingest's presence / latest values; each mapping has ``id`` plus presence columns.

    Rows for unknown (deleted) devices are skipped. Returns the number of rows updated.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        columns = tuple(sorted(set(row) - {"id"}))
        if set(columns) - PRESENCE_COLUMNS:
            raise ValueError(
                f"apply_presence: {sorted(set(columns) - PRESENCE_COLUMNS)} are not presence columns"
            )
        groups.setdefault(columns, []).append({"b_id": row["id"], **{c: row[c] for c in columns}})
    table = cast(Table, Device.__table__)
    updated = 0
    for columns, rows in groups.items():
        if columns:
            result = session.execute(update(table).where(table.c.id == bindparam("b_id")), rows)
            updated += cast(CursorResult[Any], result).rowcount
    session.commit()
    return updated
