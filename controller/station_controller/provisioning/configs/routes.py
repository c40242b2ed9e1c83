"""Config API under ``/api/v1/provisioning/configs``: drafts, revisions, fleet state, backups and diffs.

Pushes, backups and drift checks run as jobs: ``POST /api/v1/provisioning/jobs`` with action
``config.push`` / ``config.backup`` / ``config.drift`` / ``config.import`` / ``config.rollback``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from ...api.deps import AppSettings, DbSession
from ...auth.deps import Operator, Viewer
from ...registry.service import get_device
from ..targets import get_target
from . import backups, drafts, state
from .models import ConfigBackup, ConfigRevision
from .render import render_device
from .schemas import (
    BackupDetail,
    BackupOut,
    DeviceDiff,
    DraftIn,
    FleetOut,
    ItemIn,
    ItemOut,
    RenderedOut,
    RevisionDetail,
    RevisionOut,
    RouterView,
)

router = APIRouter(prefix="/provisioning/configs", tags=["provisioning-configs"])


@router.get("/revisions", response_model=list[RevisionOut])
def list_revisions(session: DbSession, _user: Viewer, limit: int = 50) -> list[ConfigRevision]:
    return drafts.list_revisions(session, limit=min(max(limit, 1), 500))


@router.get("/revisions/{revision_id}", response_model=RevisionDetail)
def revision_detail(revision_id: int, session: DbSession, _user: Viewer) -> RevisionDetail:
    revision = drafts.get_revision(session, revision_id=revision_id)
    items = [ItemOut.model_validate(i) for i in drafts.revision_items(session, revision_id=revision_id)]
    return RevisionDetail(**RevisionOut.model_validate(revision).model_dump(), items=items)


@router.post("/drafts", response_model=RevisionOut, status_code=201)
def create_draft(body: DraftIn, session: DbSession, user: Operator) -> ConfigRevision:
    return drafts.create_draft(session, user=user.username, message=body.message)


@router.put("/drafts/{draft_id}/items", response_model=ItemOut)
def set_item(draft_id: int, body: ItemIn, session: DbSession, _user: Operator) -> ItemOut:
    item = drafts.set_item(
        session,
        draft_id=draft_id,
        kind=body.kind,
        name=body.name,
        value=body.value,
        scope=body.scope,
        scope_key=body.scope_key,
        delete=body.delete,
    )
    return ItemOut.model_validate(item)


@router.get("/drafts/{draft_id}/diff", response_model=list[DeviceDiff])
def draft_diff(
    draft_id: int, session: DbSession, settings: AppSettings, _user: Viewer
) -> list[dict[str, str]]:
    """What publishing the draft would change on each router (rendered config, not yet pushed)."""
    return drafts.draft_diff(session, settings=settings, draft_id=draft_id)


@router.post("/drafts/{draft_id}/publish", response_model=RevisionOut)
def publish(draft_id: int, session: DbSession, settings: AppSettings, user: Operator) -> ConfigRevision:
    return drafts.publish_draft(session, settings=settings, draft_id=draft_id, user=user.username)


@router.post("/drafts/{draft_id}/discard", response_model=RevisionOut)
def discard(draft_id: int, session: DbSession, _user: Operator) -> ConfigRevision:
    return drafts.discard_draft(session, draft_id=draft_id)


@router.get("/routers", response_model=FleetOut)
def fleet(
    session: DbSession,
    settings: AppSettings,
    _user: Viewer,
    only: str = "",
    offset: int = 0,
    limit: int = 200,
) -> FleetOut:
    """Legacy routers: applied and newest revision; unmanaged, baseline, applied, pending, drifted, failed."""
    page = state.fleet_view(
        session, settings=settings, only=only, offset=max(offset, 0), limit=min(max(limit, 1), 1000)
    )
    routers = [RouterView.model_validate(v) for v in page.routers]
    return FleetOut(summary=page.summary, total=page.total, routers=routers)


@router.get("/routers/{device_id}/render", response_model=RenderedOut)
def rendered(
    device_id: str, session: DbSession, settings: AppSettings, _user: Viewer, draft_id: int | None = None
) -> RenderedOut:
    profile = get_target(session, device_id=device_id).profile or "linux"
    out = render_device(
        session,
        device=get_device(session, device_id=device_id),
        settings=settings,
        profile=profile,
        draft_id=draft_id,
    )
    return RenderedOut(
        device_id=device_id, seq=out.seq, draft_id=draft_id, template=out.template, fragment=out.fragment
    )


@router.get("/routers/{device_id}/backups", response_model=list[BackupOut])
def list_backups(device_id: str, session: DbSession, _user: Viewer, limit: int = 50) -> list[ConfigBackup]:
    get_device(session, device_id=device_id)
    return backups.list_backups(session, device_id=device_id, limit=min(max(limit, 1), 500))


@router.get("/backups/{backup_id}", response_model=BackupDetail)
def backup_detail(backup_id: int, session: DbSession, _user: Viewer) -> ConfigBackup:
    return backups.get_backup(session, backup_id=backup_id)


@router.get("/backups/{backup_id}/diff", response_class=PlainTextResponse)
def backup_diff(backup_id: int, session: DbSession, _user: Viewer, against: int | None = None) -> str:
    """Unified diff against ``against`` (default: the router's previous backup)."""
    return backups.backup_diff(session, backup_id=backup_id, against_id=against)
