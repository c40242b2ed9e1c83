"""Content routes: the staff API under /api/v1/content and the public chunk/manifest tree under /content."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from station_protocol.content import Chunking, ChunkRef, FileEntry, check_path
from station_protocol.errors import MalformedMessage

from ..api.deps import AppSettings, DbSession
from ..auth.deps import Admin, Operator, Viewer
from ..errors import InvalidInput, NotFound
from . import diff, gc, keys, service
from .schemas import FileIn, GcOut, HashList, KeyOut, MissingOut, VersionCreate, VersionOut
from .serve import IMMUTABLE, ranged_file
from .store import HASH_RE, origin_limiter

router = APIRouter(prefix="/content", tags=["content"])
public_router = APIRouter(prefix="/content", tags=["content-public"])
MAX_CHUNK_UPLOAD = 64 * 1024 * 1024


def _out(info: service.VersionInfo) -> VersionOut:
    return VersionOut.model_validate(dataclasses.asdict(info))


@router.post("/chunks/missing", response_model=MissingOut)
def missing(body: HashList, session: DbSession, _user: Operator) -> MissingOut:
    return MissingOut(missing=service.missing_chunks(session, hashes=body.hashes))


@router.put("/chunks/{digest}")
async def upload_chunk(
    digest: str,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    _user: Operator,
    x_chunk_size: Annotated[int, Header(gt=0, le=MAX_CHUNK_UPLOAD)],
) -> dict[str, bool]:
    """Body: the stored bytes (raw, or zlib when shorter than ``X-Chunk-Size``)."""
    body = await request.body()
    stored = service.store_chunk(session, settings=settings, digest=digest, size=x_chunk_size, stored=body)
    return {"stored": stored}


def _entry(item: FileIn) -> FileEntry:
    try:
        return FileEntry(
            check_path(item.path), item.size, item.mode, item.sha256, tuple(ChunkRef(*c) for c in item.chunks)
        )
    except MalformedMessage as exc:
        raise InvalidInput(str(exc)) from exc


@router.post("/bundles/{bundle}/versions", response_model=VersionOut, status_code=201)
def publish(
    bundle: str, body: VersionCreate, session: DbSession, settings: AppSettings, user: Operator
) -> VersionOut:
    files = [_entry(f) for f in body.files]
    for entry in files:
        if sum(c.size for c in entry.chunks) != entry.size:
            raise InvalidInput(f"{entry.path}: chunk sizes do not add up to the file size")
    ch = body.chunking
    info = service.publish_version(
        session,
        settings=settings,
        bundle=bundle,
        version=body.version,
        files=files,
        chunking=Chunking(ch.algo, ch.min, ch.avg, ch.max),
        created_by=user.username,
    )
    return _out(info)


@router.get("/bundles")
def bundles(session: DbSession, _user: Viewer) -> list[dict[str, object]]:
    return service.list_bundles(session)


@router.get("/bundles/{bundle}/versions", response_model=list[VersionOut])
def versions(bundle: str, session: DbSession, settings: AppSettings, _user: Viewer) -> list[VersionOut]:
    return [_out(v) for v in service.list_versions(session, settings=settings, bundle=bundle)]


@router.get("/bundles/{bundle}/versions/{version}", response_model=VersionOut)
def version(
    bundle: str, version: str, session: DbSession, settings: AppSettings, _user: Viewer
) -> VersionOut:
    return _out(service.get_version(session, settings=settings, bundle=bundle, version=version))


@router.get("/bundles/{bundle}/versions/{version}/diff")
def version_diff(
    bundle: str,
    version: str,
    session: DbSession,
    settings: AppSettings,
    _user: Viewer,
    against: Annotated[str | None, Query()] = None,
) -> dict[str, object]:
    return diff.version_diff(session, settings=settings, bundle=bundle, version=version, against=against)


@router.delete("/bundles/{bundle}/versions/{version}", response_model=VersionOut)
def retire(
    bundle: str, version: str, session: DbSession, settings: AppSettings, _user: Operator
) -> VersionOut:
    return _out(service.retire_version(session, settings=settings, bundle=bundle, version=version))


@router.post("/gc", response_model=GcOut)
def run_gc(session: DbSession, settings: AppSettings, _user: Admin) -> GcOut:
    return GcOut(**gc.collect(session, settings=settings))


@router.get("/keys", response_model=list[KeyOut])
def list_keys(session: DbSession, _user: Viewer) -> list[KeyOut]:
    return [KeyOut.model_validate(k) for k in keys.list_keys(session)]


@router.post("/keys", response_model=KeyOut, status_code=201)
def create_key(
    session: DbSession, settings: AppSettings, _user: Admin, activate: Annotated[bool, Query()] = False
) -> KeyOut:
    return KeyOut.model_validate(keys.create_key(session, settings=settings, activate=activate))


@router.post("/keys/{key_id}/activate", response_model=KeyOut)
def activate_key(key_id: str, session: DbSession, _user: Admin) -> KeyOut:
    return KeyOut.model_validate(keys.activate_key(session, key_id=key_id))


def _serve(path: Path | None, request: Request, etag: str, *, immutable: bool) -> Response:
    """One stored object with single-range support, paced by the shared origin limiter."""
    cache = IMMUTABLE if immutable else "no-cache"
    return ranged_file(path, request, etag, cache_control=cache, missing="no such content object")


@public_router.head("/chunks/{prefix}/{digest}", include_in_schema=False)
@public_router.get("/chunks/{prefix}/{digest}")
def get_chunk(prefix: str, digest: str, request: Request, settings: AppSettings) -> Response:
    origin_limiter().configure_once(settings.content_origin_rate_kbit * 1000)
    ok = bool(HASH_RE.match(digest)) and prefix == digest[:4]
    path = service.chunk_store(settings).chunk_path(digest) if ok else None
    return _serve(path, request, digest, immutable=True)


@public_router.head("/objects/{prefix}/{digest}", include_in_schema=False)
@public_router.get("/objects/{prefix}/{digest}")
def get_object(prefix: str, digest: str, request: Request, settings: AppSettings) -> Response:
    """Format 2 index objects (roots, chunk lists, delta objects)."""
    origin_limiter().configure_once(settings.content_origin_rate_kbit * 1000)
    ok = bool(HASH_RE.match(digest)) and prefix == digest[:4]
    path = service.chunk_store(settings).object_path(digest) if ok else None
    return _serve(path, request, digest, immutable=True)


@public_router.head("/packs/{prefix}/{digest}", include_in_schema=False)
@public_router.get("/packs/{prefix}/{digest}")
def get_pack(prefix: str, digest: str, request: Request, settings: AppSettings) -> Response:
    """Format 2 delta packs (fetched by Range runs)."""
    origin_limiter().configure_once(settings.content_origin_rate_kbit * 1000)
    ok = bool(HASH_RE.match(digest)) and prefix == digest[:4]
    path = service.chunk_store(settings).pack_path(digest) if ok else None
    return _serve(path, request, digest, immutable=True)


@public_router.head("/bundles/{bundle}/{name}", include_in_schema=False)
@public_router.get("/bundles/{bundle}/{name}")
def get_manifest(bundle: str, name: str, request: Request, settings: AppSettings) -> Response:
    gz = name.endswith(".json.gz")
    snap = name.endswith(".snap")
    version = name[: -len(".json.gz")] if gz else name[: -len(".json")] if name.endswith(".json") else ""
    version = name[: -len(".snap")] if snap else version
    try:
        service._name(bundle, "bundle")
        service._name(version, "version")
    except InvalidInput:
        raise NotFound("no such manifest") from None
    store = service.chunk_store(settings)
    path = store.snapshot_path(bundle, version) if snap else store.manifest_path(bundle, version, gz=gz)
    return _serve(path, request, f"{bundle}-{version}", immutable=False)
