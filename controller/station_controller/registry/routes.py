"""Registry routes: stations, devices, CSV import, the region tree and tags."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from ..api.deps import AppSettings, DbSession
from ..auth.deps import Operator, Viewer
from ..errors import InvalidInput
from . import queries, service
from .csv_import import import_csv, tokens_csv
from .schemas import (
    DeviceCreate,
    DeviceOut,
    DevicePage,
    DeviceWithToken,
    ImportResult,
    RegionNode,
    StationCreate,
    StationOut,
    StationPage,
    TagOut,
)

router = APIRouter(tags=["registry"])
MAX_CSV_BYTES = 20 * 1024 * 1024
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0)]


@router.get("/stations", response_model=StationPage)
def list_stations(
    session: DbSession,
    _user: Viewer,
    region: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    limit: Limit = 50,
    after: str | None = None,
    offset: Offset = 0,
) -> StationPage:
    """Stations by code; ``region`` matches the whole subtree, ``q`` searches code and name."""
    page = queries.Page(limit=limit, after=after, offset=offset)
    stations, total = queries.list_stations(session, region=region, tag=tag, q=q, page=page)
    next_after = stations[-1].code if len(stations) == page.size else None
    return StationPage(items=[StationOut.of(s) for s in stations], total=total, next_after=next_after)


@router.post("/stations", response_model=StationOut, status_code=status.HTTP_201_CREATED)
def create_station(body: StationCreate, session: DbSession, _user: Operator) -> StationOut:
    station = service.create_station(
        session, code=body.code, name=body.name, region_path=body.region_path, tags=body.tags
    )
    return StationOut.of(station)


@router.get("/stations/{code}", response_model=StationOut)
def get_station(code: str, session: DbSession, _user: Viewer) -> StationOut:
    return StationOut.of(service.get_station(session, code=code))


@router.post(
    "/stations/import",
    response_model=ImportResult,
    status_code=status.HTTP_201_CREATED,
    responses={201: {"content": {"text/csv": {}}}},
)
async def import_stations(
    settings: AppSettings,
    session: DbSession,
    _user: Operator,
    file: Annotated[
        UploadFile, File(description="station_code,station_name,region_path,role,serial,mac,tags")
    ],
    format: Literal["json", "csv"] = "json",  # noqa: A002
) -> ImportResult | Response:
    """Validate every row, then create all stations and devices at once; returns the one-time tokens."""
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise InvalidInput(f"file larger than {MAX_CSV_BYTES // 1024 // 1024} MiB; split it")
    result = import_csv(session, settings=settings, data=data)
    if format == "csv":
        return Response(
            tokens_csv(result),
            status_code=status.HTTP_201_CREATED,
            media_type="text/csv",
            headers={"content-disposition": 'attachment; filename="enrollment-tokens.csv"'},
        )
    return result


@router.get("/devices", response_model=DevicePage)
def list_devices(
    session: DbSession,
    _user: Viewer,
    region: str | None = None,
    tag: str | None = None,
    role: Literal["stb", "router"] | None = None,
    online: bool | None = None,
    agent_version: str | None = None,
    status: Literal["pending", "enrolled", "revoked"] | None = None,
    station: str | None = None,
    q: str | None = None,
    limit: Limit = 50,
    after: str | None = None,
    offset: Offset = 0,
) -> DevicePage:
    """Devices by id; filters combine with AND; paginate with ``after=next_after`` (or ``offset``)."""
    flt = queries.DeviceFilter(
        region=region,
        tag=tag,
        role=role,
        online=online,
        agent_version=agent_version,
        status=status,
        station=station,
        q=q,
    )
    page = queries.Page(limit=limit, after=after, offset=offset)
    rows, total = queries.list_devices(session, flt=flt, page=page)
    next_after = rows[-1][0].id if len(rows) == page.size else None
    return DevicePage(items=[DeviceOut.of(d, code) for d, code in rows], total=total, next_after=next_after)


@router.post("/devices", response_model=DeviceWithToken, status_code=status.HTTP_201_CREATED)
def create_device(
    body: DeviceCreate, session: DbSession, settings: AppSettings, _user: Operator
) -> DeviceWithToken:
    """Pre-register a device; the one-time enrollment token is in this response only."""
    device, token = service.create_device(
        session,
        settings=settings,
        station_code=body.station_code,
        role=body.role,
        serial=body.serial,
        mac=body.mac,
    )
    assert device.token_expires_at is not None
    return DeviceWithToken(
        device=DeviceOut.of(device, body.station_code), token=token, token_expires_at=device.token_expires_at
    )


@router.get("/devices/{device_id}", response_model=DeviceOut)
def get_device(device_id: str, session: DbSession, _user: Viewer) -> DeviceOut:
    device = service.get_device(session, device_id=device_id)
    return DeviceOut.of(device, device.station.code)


@router.get("/regions/tree", response_model=list[RegionNode])
def region_tree(
    session: DbSession, _user: Viewer, root: str | None = None, depth: Annotated[int, Query(ge=1, le=8)] = 2
) -> list[RegionNode]:
    """The region tree from the top (or below ``root``), ``depth`` levels deep."""
    return [RegionNode.model_validate(n) for n in queries.region_tree(session, root=root, depth=depth)]


@router.get("/tags", response_model=list[TagOut])
def list_tags(session: DbSession, _user: Viewer) -> list[TagOut]:
    return [TagOut(name=name, stations=count) for name, count in queries.tag_counts(session)]
