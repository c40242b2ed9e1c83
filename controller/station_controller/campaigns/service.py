"""Campaign services: create, start, pause, resume, cancel, and reads (each call owns its commit)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput, NotFound
from ..kernel.clock import utcnow
from ..registry.models import Station
from .membership import add_members
from .models import ACTIVE_STATES, Campaign, CampaignDevice, CampaignEvent
from .payloads import PayloadAction
from .schemas import CampaignCreate
from .spec import CampaignPolicy

log = logging.getLogger(__name__)
DEFAULT_MAX_ACTIVE = 500
OVERCOMMIT = 1.25  # admit a little more than the cap so slower links still fill the origin's share


def payload_action(payloads: Mapping[str, PayloadAction], kind: str) -> PayloadAction:
    action = payloads.get(kind)
    if action is None:
        raise InvalidInput(f"unknown payload kind {kind!r}; known: {', '.join(sorted(payloads))}")
    return action


def _max_active(spec: CampaignCreate) -> int:
    if spec.max_active is not None:
        return spec.max_active
    if spec.rate_cap_bps and spec.device_rate_bps:
        return max(1, int(spec.rate_cap_bps * OVERCOMMIT / spec.device_rate_bps + 0.999))
    return DEFAULT_MAX_ACTIVE


def _json(spec: CampaignCreate, field: str) -> dict[str, Any]:
    dumped: dict[str, Any] = getattr(spec, field).model_dump(mode="json")
    return dumped


def create_campaign(
    session: Session, *, payloads: Mapping[str, PayloadAction], spec: CampaignCreate, created_by: str | None
) -> Campaign:
    """Store a draft campaign after checking its payload and policies.

    Raises:
        InvalidInput: unknown payload kind, bad window, waves or thresholds, empty target.
        Conflict: the name is taken.
    """
    action = payload_action(payloads, spec.payload_kind)
    target = _json(spec, "target")
    if not (target["regions"] or target["tags"] or target["stations"]):
        raise InvalidInput("target needs at least one of regions, tags or stations")
    if session.scalar(select(Campaign.id).where(Campaign.name == spec.name)) is not None:
        raise Conflict(f"a campaign named {spec.name!r} exists; pick another name")
    campaign = Campaign(
        name=spec.name,
        payload_kind=spec.payload_kind,
        payload=action.validate(session, payload=spec.payload),
        target=target,
        schedule=_json(spec, "schedule"),
        waves=_json(spec, "waves"),
        thresholds=_json(spec, "thresholds"),
        retries={k: v.model_dump() for k, v in spec.retries.items()},
        rate_cap_bps=spec.rate_cap_bps,
        device_rate_bps=spec.device_rate_bps,
        max_active=_max_active(spec),
        state="draft",
        current_wave=0,
        wave_count=0,
        created_by=created_by,
        created_at=utcnow(),
    )
    CampaignPolicy.of(campaign)  # every stored policy must parse back
    _check_canary(session, campaign.waves.get("canary") or [])
    session.add(campaign)
    session.commit()
    log.info("campaign %s created by %s", campaign.name, created_by)
    return campaign


def _check_canary(session: Session, codes: list[str]) -> None:
    known = set(session.scalars(select(Station.code).where(Station.code.in_(codes)))) if codes else set()
    missing = sorted(set(codes) - known)
    if missing:
        raise InvalidInput(f"canary stations not found: {', '.join(missing[:10])}; use station codes")


def get_campaign(session: Session, *, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist; list them with GET /api/v1/campaigns")
    return campaign


def list_campaigns(session: Session, *, state: str | None = None, limit: int = 100) -> list[Campaign]:
    stmt = select(Campaign).order_by(Campaign.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(Campaign.state == state)
    return list(session.scalars(stmt))


def history(
    session: Session, campaign_id: int, at: datetime, kind: str, device_id: str | None = None, **detail: Any
) -> None:
    """Add one history row (the caller commits)."""
    session.add(CampaignEvent(campaign_id=campaign_id, device_id=device_id, at=at, kind=kind, detail=detail))


def _transition(session: Session, campaign: Campaign, state: str, reason: str | None, now: datetime) -> None:
    old, campaign.state, campaign.reason = campaign.state, state, reason
    if state in ("finished", "cancelled", "aborted"):
        campaign.finished_at = now
    history(session, campaign.id, now, "state", **{"from": old, "to": state, "reason": reason})
    log.info("campaign %s: %s → %s (%s)", campaign.name, old, state, reason or "")


def start_campaign(
    session: Session, *, payloads: Mapping[str, PayloadAction], campaign_id: int, now: datetime | None = None
) -> Campaign:
    """Draft → running: take the target's devices now and assign their waves (the scheduler does the rest)."""
    moment = now or utcnow()
    campaign = get_campaign(session, campaign_id=campaign_id)
    if campaign.state != "draft":
        raise Conflict(
            f"campaign {campaign.name} is {campaign.state}; only a draft can be started (use resume)"
        )
    policy = CampaignPolicy.of(campaign)
    role = campaign.target.get("role") or payload_action(payloads, campaign.payload_kind).default_role
    count = add_members(session, campaign=campaign, plan=policy.waves, role=role, now=moment)
    campaign.started_at = moment
    _transition(session, campaign, "running", f"{count} devices in {campaign.wave_count} waves", moment)
    session.commit()
    return campaign


def pause_campaign(
    session: Session, *, campaign_id: int, reason: str = "paused by staff", now: datetime | None = None
) -> Campaign:
    """No new device starts; devices already downloading finish their job."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    if campaign.state != "running":
        raise Conflict(f"campaign {campaign.name} is {campaign.state}; only a running campaign can be paused")
    _transition(session, campaign, "paused", reason, now or utcnow())
    session.commit()
    return campaign


def resume_campaign(session: Session, *, campaign_id: int, now: datetime | None = None) -> Campaign:
    """Paused → running. Failures so far count as acknowledged: the error threshold restarts from here,
    and a campaign paused after a successful wave goes on with the next wave."""
    moment = now or utcnow()
    campaign = get_campaign(session, campaign_id=campaign_id)
    if campaign.state != "paused":
        raise Conflict(f"campaign {campaign.name} is {campaign.state}; only a paused campaign can be resumed")
    finished = _count(session, campaign.id, ("succeeded", "failed"))
    failed = _count(session, campaign.id, ("failed",))
    thresholds = dict(campaign.thresholds)
    thresholds["baseline"] = {"finished": finished, "failed": failed}
    campaign.thresholds = thresholds
    if (campaign.reason or "").startswith("wave ") and campaign.current_wave + 1 < campaign.wave_count:
        campaign.current_wave += 1
    _transition(session, campaign, "running", "resumed by staff", moment)
    session.commit()
    return campaign


def _count(session: Session, campaign_id: int, states: tuple[str, ...]) -> int:
    stmt = select(func.count()).where(
        CampaignDevice.campaign_id == campaign_id, CampaignDevice.state.in_(states)
    )
    return int(session.scalar(stmt) or 0)


def stop_campaign(
    session: Session, *, campaign_id: int, state: str, reason: str, now: datetime | None = None
) -> Campaign:
    """Cancel or abort: devices not yet running are cancelled now; the scheduler sends a cancel command
    to every running device on its next step (so this is safe to call without a broker link)."""
    moment = now or utcnow()
    campaign = get_campaign(session, campaign_id=campaign_id)
    if campaign.state not in (*ACTIVE_STATES, "draft"):
        raise Conflict(f"campaign {campaign.name} is already {campaign.state}")
    session.execute(
        update(CampaignDevice)
        .where(CampaignDevice.campaign_id == campaign.id, CampaignDevice.state.in_(("pending", "retry_wait")))
        .values(state="cancelled", finished_at=moment, updated_at=moment)
    )
    _transition(session, campaign, state, reason, moment)
    session.commit()
    return campaign


def cancel_campaign(
    session: Session, *, campaign_id: int, user: str | None = None, now: datetime | None = None
) -> Campaign:
    return stop_campaign(
        session, campaign_id=campaign_id, state="cancelled", reason=f"cancelled by {user or 'staff'}", now=now
    )


def list_devices(
    session: Session, *, campaign_id: int, state: str | None, wave: int | None, limit: int, offset: int
) -> tuple[list[CampaignDevice], int]:
    get_campaign(session, campaign_id=campaign_id)
    cond = [CampaignDevice.campaign_id == campaign_id]
    if state:
        cond.append(CampaignDevice.state == state)
    if wave is not None:
        cond.append(CampaignDevice.wave == wave)
    total = session.scalar(select(func.count()).select_from(CampaignDevice).where(*cond)) or 0
    stmt = select(CampaignDevice).where(*cond).order_by(CampaignDevice.wave, CampaignDevice.device_id)
    return list(session.scalars(stmt.offset(offset).limit(limit))), int(total)


def list_events(
    session: Session, *, campaign_id: int, device_id: str | None, limit: int
) -> list[CampaignEvent]:
    get_campaign(session, campaign_id=campaign_id)
    stmt = select(CampaignEvent).where(CampaignEvent.campaign_id == campaign_id)
    if device_id:
        stmt = stmt.where(CampaignEvent.device_id == device_id)
    return list(session.scalars(stmt.order_by(CampaignEvent.id.desc()).limit(limit)))
