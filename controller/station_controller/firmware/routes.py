"""Firmware routes: the staff API under /api/v1/firmware and the public release tree under /firmware."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated

from fastapi import APIRouter, Query, Request, Response

from ..api.deps import AppSettings, DbSession
from ..auth.deps import Admin, Operator, Viewer
from ..content.serve import ranged_file
from ..content.store import origin_limiter
from ..errors import InvalidInput
from . import devices, keys, service, stuck
from .schemas import (
    CampaignDeviceOut,
    CampaignProgressOut,
    DeviceDetailOut,
    DeviceFirmwareOut,
    HistoryOut,
    KeyIn,
    KeyOut,
    ReleaseList,
    ReleaseOut,
    StuckOut,
)

router = APIRouter(prefix="/firmware", tags=["firmware"])
public_router = APIRouter(prefix="/firmware", tags=["firmware-public"])
MAX_DOCUMENT = 1024 * 1024
SPOOL_BYTES = 8 * 1024 * 1024
READ_BLOCK = 1024 * 1024


def _out(found: service.ReleaseInfo) -> ReleaseOut:
    return ReleaseOut.model_validate(dataclasses.asdict(found))


@router.post("/releases", response_model=ReleaseOut, status_code=201)
async def upload(
    request: Request, response: Response, session: DbSession, settings: AppSettings, user: Operator
) -> ReleaseOut:
    """Body: the signed document from ``stationctl firmware sign`` (verified against the pinned keys)."""
    body = await request.body()
    if len(body) > MAX_DOCUMENT:
        raise InvalidInput(f"a release document is at most {MAX_DOCUMENT} bytes")
    found, created = service.upload_release(session, settings=settings, document=body, by=user.username)
    response.status_code = 201 if created else 200
    return _out(found)


def _pieces(spool: IO[bytes]) -> Iterator[bytes]:
    spool.seek(0)
    while piece := spool.read(READ_BLOCK):
        yield piece


@router.put("/releases/{release_id}/files/{path:path}", response_model=ReleaseOut)
async def upload_file(
    release_id: str, path: str, request: Request, session: DbSession, settings: AppSettings, _user: Operator
) -> ReleaseOut:
    """Body: the file's bytes; checked against the manifest's size and sha256."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        async for piece in request.stream():
            spool.write(piece)
        found = service.put_file(
            session, settings=settings, release_id=release_id, path=path, pieces=_pieces(spool)
        )
    return _out(found)


@router.get("/releases", response_model=ReleaseList)
def releases(
    session: DbSession, settings: AppSettings, _user: Viewer, kind: Annotated[str | None, Query()] = None
) -> ReleaseList:
    return ReleaseList(
        releases=[_out(r) for r in service.list_releases(session, settings=settings, kind=kind)]
    )


@router.get("/releases/{release_id}", response_model=ReleaseOut)
def release(release_id: str, session: DbSession, settings: AppSettings, _user: Viewer) -> ReleaseOut:
    return _out(service.get_release(session, settings=settings, release_id=release_id))


@router.post("/releases/{release_id}/retire", response_model=ReleaseOut)
def retire(release_id: str, session: DbSession, settings: AppSettings, _user: Operator) -> ReleaseOut:
    return _out(service.retire_release(session, settings=settings, release_id=release_id))


@router.get("/keys", response_model=list[KeyOut])
def list_keys(session: DbSession, _user: Viewer) -> list[KeyOut]:
    return [KeyOut.model_validate(k) for k in keys.list_keys(session)]


@router.post("/keys", response_model=KeyOut, status_code=201)
def add_key(body: KeyIn, session: DbSession, user: Admin) -> KeyOut:
    row = keys.add_key(session, public_key=body.public_key, label=body.label, by=user.username)
    return KeyOut.model_validate(row)


@router.post("/keys/{key_id}/retire", response_model=KeyOut)
def retire_key(key_id: str, session: DbSession, _user: Admin) -> KeyOut:
    return KeyOut.model_validate(keys.retire_key(session, key_id=key_id))


@router.get("/devices", response_model=list[DeviceFirmwareOut])
def device_list(
    session: DbSession,
    _user: Viewer,
    region: Annotated[str | None, Query()] = None,
    agent_version: Annotated[str | None, Query()] = None,
    state: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DeviceFirmwareOut]:
    rows = devices.list_device_firmware(
        session, region=region, agent_version=agent_version, state=state, limit=limit, offset=offset
    )
    return [DeviceFirmwareOut.model_validate(dataclasses.asdict(r)) for r in rows]


@router.get("/devices/{device_id}", response_model=DeviceDetailOut)
def device_detail(device_id: str, session: DbSession, _user: Viewer) -> DeviceDetailOut:
    view = devices.device_firmware(session, device_id=device_id)
    return DeviceDetailOut(
        device=DeviceFirmwareOut.model_validate(dataclasses.asdict(view)),
        history=[HistoryOut.model_validate(h) for h in devices.device_history(session, device_id=device_id)],
    )


@router.get("/distribution")
def distribution(
    session: DbSession,
    _user: Viewer,
    kind: Annotated[str, Query(pattern="^(agent|os)$")] = "agent",
    depth: Annotated[int, Query(ge=1, le=6)] = 2,
    region: Annotated[str | None, Query()] = None,
) -> dict[str, dict[str, int]]:
    """{region prefix: {version: devices}}."""
    return devices.version_distribution(session, kind=kind, depth=depth, region=region)


@router.get("/stuck", response_model=list[StuckOut])
def stuck_devices(session: DbSession, _user: Viewer) -> list[StuckOut]:
    return [StuckOut.model_validate(row) for row in stuck.list_stuck(session)]


@router.get("/campaigns/{campaign_id}/progress", response_model=CampaignProgressOut)
def campaign_progress(campaign_id: int, session: DbSession, _user: Viewer) -> CampaignProgressOut:
    counts, rows = devices.campaign_device_progress(session, campaign_id=campaign_id)
    state = devices.campaign_state(session, campaign_id=campaign_id)
    return CampaignProgressOut(
        campaign_id=campaign_id,
        campaign_state=state,
        counts=counts,
        devices=[CampaignDeviceOut.model_validate(dataclasses.asdict(r)) for r in rows],
    )


def _serve(path: Path | None, request: Request, etag: str) -> Response:
    """One stored object with single-range support (resume), paced by content's shared origin limiter."""
    cache = "public, max-age=31536000"
    return ranged_file(path, request, etag, cache_control=cache, missing="no such firmware object")


@public_router.head("/releases/{release_id}/manifest.json", include_in_schema=False)
@public_router.get("/releases/{release_id}/manifest.json")
def get_document(release_id: str, request: Request, session: DbSession, settings: AppSettings) -> Response:
    origin_limiter().configure_once(settings.content_origin_rate_kbit * 1000)
    return _serve(service.document_file(settings, session, release_id), request, release_id)


@public_router.head("/releases/{release_id}/files/{path:path}", include_in_schema=False)
@public_router.get("/releases/{release_id}/files/{path:path}")
def get_file(
    release_id: str, path: str, request: Request, session: DbSession, settings: AppSettings
) -> Response:
    origin_limiter().configure_once(settings.content_origin_rate_kbit * 1000)
    found = service.release_file(settings, session, release_id, path)
    return _serve(found[0] if found else None, request, found[1] if found else "")
