"""Bulk CSV import of stations and devices: validate every row, then create all in one transaction."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..csv_export import to_csv
from ..errors import ControllerError, InvalidInput
from ..settings import Settings
from .models import Device, Region, Station, Tag
from .schemas import ImportedDevice, ImportResult
from .service import (
    add_device,
    add_region_path,
    add_station,
    device_id_for,
    normalise_mac,
    split_region_path,
    tags_named,
)

log = logging.getLogger(__name__)

COLUMNS = ("station_code", "station_name", "region_path", "role", "serial", "mac", "tags")
REQUIRED = ("station_code", "station_name", "region_path", "role", "serial")
MAX_ROWS = 100_000
_CHUNK = 500


@dataclass(frozen=True)
class Row:
    line: int
    station_code: str
    station_name: str
    region_path: str
    role: str
    serial: str
    mac: str | None
    tags: tuple[str, ...]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the file is not UTF-8 text; save it as 'CSV UTF-8' and upload again") from None


def parse_rows(data: bytes) -> tuple[list[Row], list[dict[str, object]]]:
    """Rows that passed the per-row checks, and ``{line, error}`` for the rest (header is line 1)."""
    reader = csv.DictReader(io.StringIO(_decode(data)))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(f"CSV header lacks {missing}; the columns are {', '.join(COLUMNS)}")
    rows: list[Row] = []
    errors: list[dict[str, object]] = []
    for record in reader:
        line = reader.line_num
        if len(rows) + len(errors) >= MAX_ROWS:
            raise InvalidInput(f"more than {MAX_ROWS} rows; split the file")
        try:
            rows.append(_row(line, record))
        except ControllerError as exc:
            errors.append({"line": line, "error": exc.detail})
    return rows, errors


def _row(line: int, record: dict[str, str | None]) -> Row:
    value = {k: (record.get(k) or "").strip() for k in COLUMNS}
    empty = [k for k in REQUIRED if not value[k]]
    if empty:
        raise InvalidInput(f"empty {', '.join(empty)}")
    split_region_path(value["region_path"])
    device_id_for(value["role"], value["serial"])
    return Row(
        line=line,
        station_code=value["station_code"],
        station_name=value["station_name"],
        region_path="/".join(split_region_path(value["region_path"])),
        role=value["role"],
        serial=value["serial"],
        mac=normalise_mac(value["mac"]),
        tags=tuple(t.strip() for t in value["tags"].split(";") if t.strip()),
    )


def _file_conflicts(rows: list[Row]) -> list[dict[str, object]]:
    """Duplicates inside the file and stations described two different ways."""
    errors: list[dict[str, object]] = []
    seen_ids: dict[str, int] = {}
    stations: dict[str, Row] = {}
    for row in rows:
        device_id = device_id_for(row.role, row.serial)
        if device_id in seen_ids:
            errors.append(
                {"line": row.line, "error": f"device {device_id} repeats line {seen_ids[device_id]}"}
            )
        seen_ids.setdefault(device_id, row.line)
        first = stations.setdefault(row.station_code, row)
        if (first.station_name, first.region_path) != (row.station_name, row.region_path):
            errors.append(
                {
                    "line": row.line,
                    "error": f"station {row.station_code} has another name or "
                    f"region on line {first.line}; use the same values",
                }
            )
    return errors


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _db_conflicts(session: Session, rows: list[Row]) -> list[dict[str, object]]:
    """Rows whose serial or device id is registered already, or whose station sits in another region."""
    serials = {r.serial for r in rows}
    ids = {device_id_for(r.role, r.serial) for r in rows}
    taken: set[str] = set()
    for chunk in _chunks(sorted(serials)):
        taken.update(session.scalars(select(Device.serial).where(Device.serial.in_(chunk))))
    for chunk in _chunks(sorted(ids)):
        taken.update(session.scalars(select(Device.id).where(Device.id.in_(chunk))))
    regions: dict[str, str] = {}
    for chunk in _chunks(sorted({r.station_code for r in rows})):
        stmt = select(Station.code, Region.path).join(Region, Region.id == Station.region_id)
        regions.update((code, path) for code, path in session.execute(stmt.where(Station.code.in_(chunk))))
    errors: list[dict[str, object]] = []
    for row in rows:
        if row.serial in taken or device_id_for(row.role, row.serial) in taken:
            errors.append({"line": row.line, "error": f"serial {row.serial} is already registered"})
        existing = regions.get(row.station_code)
        if existing is not None and existing != row.region_path:
            errors.append({"line": row.line, "error": f"station {row.station_code} exists in {existing}"})
    return errors


def import_csv(session: Session, *, settings: Settings, data: bytes) -> ImportResult:
    """Create the stations and devices in ``data``; all or nothing.

    Raises:
        InvalidInput: with ``errors`` = [{line, error}] for every bad row; nothing was created.
    """
    rows, errors = parse_rows(data)
    errors += _file_conflicts(rows) + _db_conflicts(session, rows)
    if errors:
        errors.sort(key=lambda e: int(str(e["line"])))
        raise InvalidInput(
            f"{len(errors)} problem(s) in the file; nothing was created. Fix the listed lines "
            "and upload again",
            extra={"errors": errors},
        )
    if not rows:
        raise InvalidInput("the file has a header but no rows")
    result = _create(session, settings=settings, rows=rows)
    session.commit()
    log.info("CSV import created %d stations and %d devices", result.stations_created, len(result.devices))
    return result


def _create(session: Session, *, settings: Settings, rows: list[Row]) -> ImportResult:
    regions: dict[str, Region] = {}
    tags: dict[str, Tag] = {}
    stations: dict[str, Station] = {}
    created = 0
    devices: list[ImportedDevice] = []
    for row in rows:
        station = stations.get(row.station_code) or session.scalar(
            select(Station).where(Station.code == row.station_code)
        )
        if station is None:
            region = add_region_path(session, row.region_path.split("/"), regions)
            station = add_station(
                session,
                code=row.station_code,
                name=row.station_name,
                region=region,
                tags=tags_named(session, row.tags, tags),
            )
            created += 1
        else:  # a station's tags are the union of its rows' tags
            station.tags += [t for t in tags_named(session, row.tags, tags) if t not in station.tags]
        stations[row.station_code] = station
        device, token = add_device(
            session, settings=settings, station=station, role=row.role, serial=row.serial, mac=row.mac
        )
        assert device.token_expires_at is not None
        devices.append(
            ImportedDevice(
                line=row.line,
                station_code=station.code,
                device_id=device.id,
                serial=device.serial,
                token=token,
                token_expires_at=device.token_expires_at,
            )
        )
    return ImportResult(stations_created=created, devices=devices)


def tokens_csv(result: ImportResult) -> str:
    """The one-time tokens as CSV for download (``line,station_code,device_id,serial,token,expires_at``)."""
    header = ["line", "station_code", "device_id", "serial", "token", "token_expires_at"]
    rows = [
        [d.line, d.station_code, d.device_id, d.serial, d.token, d.token_expires_at] for d in result.devices
    ]
    return to_csv(header, rows)  # cells neutralised against spreadsheet formulas
