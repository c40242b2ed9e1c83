"""Campaign routes: create, start, pause, resume, cancel, progress, devices, history and plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from ..api.deps import AppSettings, DbSession
from ..auth.deps import Operator, Viewer
from . import service
from .deps import Payloads
from .planning import PlanOut, plan_campaign
from .progress import campaign_progress
from .schemas import (
    CampaignCreate,
    CampaignDeviceOut,
    CampaignDevicePage,
    CampaignEventOut,
    CampaignOut,
    PlanRequest,
    Progress,
)

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post("", response_model=CampaignOut, status_code=status.HTTP_201_CREATED)
def create(body: CampaignCreate, session: DbSession, payloads: Payloads, user: Operator) -> CampaignOut:
    """Store a draft; nothing is sent until it is started."""
    campaign = service.create_campaign(session, payloads=payloads, spec=body, created_by=user.username)
    return CampaignOut.model_validate(campaign)


@router.get("", response_model=list[CampaignOut])
def list_all(session: DbSession, _user: Viewer, state: str | None = None) -> list[CampaignOut]:
    return [CampaignOut.model_validate(c) for c in service.list_campaigns(session, state=state)]


@router.get("/{campaign_id}", response_model=CampaignOut)
def get(campaign_id: int, session: DbSession, _user: Viewer) -> CampaignOut:
    return CampaignOut.model_validate(service.get_campaign(session, campaign_id=campaign_id))


@router.post("/{campaign_id}/start", response_model=CampaignOut)
def start(campaign_id: int, session: DbSession, payloads: Payloads, _user: Operator) -> CampaignOut:
    return CampaignOut.model_validate(
        service.start_campaign(session, payloads=payloads, campaign_id=campaign_id)
    )


@router.post("/{campaign_id}/pause", response_model=CampaignOut)
def pause(campaign_id: int, session: DbSession, user: Operator) -> CampaignOut:
    campaign = service.pause_campaign(session, campaign_id=campaign_id, reason=f"paused by {user.username}")
    return CampaignOut.model_validate(campaign)


@router.post("/{campaign_id}/resume", response_model=CampaignOut)
def resume(campaign_id: int, session: DbSession, _user: Operator) -> CampaignOut:
    return CampaignOut.model_validate(service.resume_campaign(session, campaign_id=campaign_id))


@router.post("/{campaign_id}/cancel", response_model=CampaignOut)
def cancel(campaign_id: int, session: DbSession, user: Operator) -> CampaignOut:
    """Stop: waiting devices are cancelled now, running downloads get a cancel command within a step."""
    return CampaignOut.model_validate(
        service.cancel_campaign(session, campaign_id=campaign_id, user=user.username)
    )


@router.get("/{campaign_id}/progress", response_model=Progress)
def progress(
    campaign_id: int, session: DbSession, _user: Viewer, region_depth: Annotated[int, Query(ge=1, le=8)] = 3
) -> Progress:
    return campaign_progress(session, campaign_id=campaign_id, region_depth=region_depth)


@router.get("/{campaign_id}/devices", response_model=CampaignDevicePage)
def devices(
    campaign_id: int,
    session: DbSession,
    _user: Viewer,
    state: str | None = None,
    wave: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CampaignDevicePage:
    rows, total = service.list_devices(
        session, campaign_id=campaign_id, state=state, wave=wave, limit=limit, offset=offset
    )
    return CampaignDevicePage(items=[CampaignDeviceOut.model_validate(r) for r in rows], total=total)


@router.get("/{campaign_id}/events", response_model=list[CampaignEventOut])
def events(
    campaign_id: int,
    session: DbSession,
    _user: Viewer,
    device_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[CampaignEventOut]:
    rows = service.list_events(session, campaign_id=campaign_id, device_id=device_id, limit=limit)
    return [CampaignEventOut.model_validate(r) for r in rows]


@router.post("/{campaign_id}/plan", response_model=PlanOut)
def plan(
    campaign_id: int,
    body: PlanRequest,
    session: DbSession,
    settings: AppSettings,
    payloads: Payloads,
    _user: Viewer,
) -> PlanOut:
    return plan_campaign(session, settings=settings, payloads=payloads, campaign_id=campaign_id, request=body)
