"""Plan a stored campaign: loads from the registry and the payload's delta per device, then simulate."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..kernel.clock import utcnow
from ..registry.models import Device, Region, Station
from ..registry.queries import dialect_of
from ..settings import Settings
from .membership import target_conditions
from .models import Campaign, CampaignDevice
from .payloads import PayloadAction
from .planner import Plan, StationLoad, simulate
from .schemas import PlanRequest
from .service import get_campaign, payload_action
from .spec import schedule_of

DEFAULT_ORIGIN_BPS = 1_000_000_000


class NightOut(BaseModel):
    index: int
    delivered_bytes: int
    bound_bytes: int
    completed: int


class PlanOut(BaseModel):
    campaign: str
    stations: int
    total_bytes: int
    origin_bps: int
    window: str
    nights_needed: int | None
    lower_bound_nights: int | None
    first_night_efficiency: float | None
    nights: list[NightOut]


def _devices(session: Session, campaign: Campaign, role: str | None) -> list[tuple[str, str, Any]]:
    """(device id, time zone, hardware) of the devices still to do (members, or the target for a draft)."""
    if campaign.state == "draft":
        stmt = (
            select(Device.id, Region.timezone, Device.hardware)
            .join(Station, Station.id == Device.station_id)
            .join(Region, Region.id == Station.region_id)
            .where(*target_conditions(campaign.target, role, dialect_of(session)))
        )
    else:
        stmt = (
            select(CampaignDevice.device_id, CampaignDevice.timezone, Device.hardware)
            .join(Device, Device.id == CampaignDevice.device_id)
            .where(
                CampaignDevice.campaign_id == campaign.id,
                CampaignDevice.state.in_(("pending", "running", "retry_wait")),
            )
        )
    return [(r[0], r[1], r[2]) for r in session.execute(stmt)]


def _link_bps(hardware: Any, default: int, cap: int | None) -> float:
    """A device's known link speed (``hardware.link_bps``, e.g. from provisioning) capped per device."""
    known = hardware.get("link_bps") if isinstance(hardware, dict) else None
    link = float(known) if isinstance(known, (int, float)) and known > 0 else float(default)
    return min(link, float(cap)) if cap else link


def plan_campaign(
    session: Session,
    *,
    settings: Settings,
    payloads: Mapping[str, PayloadAction],
    campaign_id: int,
    request: PlanRequest,
    now: datetime | None = None,
) -> PlanOut:
    """Nights needed and bytes per night, beside the physical bound (docs: `stationctl rollout plan`)."""
    campaign = get_campaign(session, campaign_id=campaign_id)
    action = payload_action(payloads, campaign.payload_kind)
    devices = _devices(session, campaign, campaign.target.get("role") or action.default_role)
    sizes = action.estimate_bytes(session, payload=campaign.payload, device_ids=[d[0] for d in devices])
    loads = [
        StationLoad(sizes.get(dev, 0), _link_bps(hw, request.link_bps, campaign.device_rate_bps), tz)
        for dev, tz, hw in devices
    ]
    setting = int(getattr(settings, "content_origin_rate_kbit", 0) or 0) * 1000
    origin = request.origin_bps or campaign.rate_cap_bps or setting or DEFAULT_ORIGIN_BPS
    schedule = schedule_of(campaign.schedule)
    start = max(now or utcnow(), schedule.starts_at or datetime.min.replace(tzinfo=utcnow().tzinfo))
    plan = simulate(
        loads,
        window=schedule.window,
        origin_bps=origin,
        start=start,
        max_nights=request.max_nights,
        max_active=campaign.max_active,
    )
    return _out(campaign, plan, origin)


def _out(campaign: Campaign, plan: Plan, origin: int) -> PlanOut:
    raw = campaign.schedule
    window = (
        f"{raw.get('window_start')}–{raw.get('window_end')} local" if raw.get("window_start") else "any time"
    )
    return PlanOut(
        campaign=campaign.name,
        stations=plan.stations,
        total_bytes=plan.total_bytes,
        origin_bps=origin,
        window=window,
        nights_needed=plan.nights_needed,
        lower_bound_nights=plan.lower_bound_nights,
        first_night_efficiency=plan.first_night_efficiency,
        nights=[
            NightOut(
                index=n.index,
                delivered_bytes=round(n.delivered_bytes),
                bound_bytes=round(n.bound_bytes),
                completed=n.completed,
            )
            for n in plan.nights
            if n.delivered_bytes > 0 or n.completed
        ],
    )
