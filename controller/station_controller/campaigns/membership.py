"""Which devices a campaign targets, and adding them (all at start, newcomers later) with their wave."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, or_, select
from sqlalchemy.orm import Session

from ..registry.models import Device, Region, Station
from ..registry.queries import DeviceFilter, device_conditions, dialect_of
from .models import Campaign, CampaignDevice, CampaignEvent
from .waves import WavePlan, assign_waves, join_wave, order_key

log = logging.getLogger(__name__)
_INSERT_BATCH = 5000


def _any_of(conds: list[list[ColumnElement[bool]]]) -> ColumnElement[bool]:
    return or_(*[and_(*c) for c in conds])


def target_conditions(target: dict[str, Any], role: str | None, dialect: str) -> list[ColumnElement[bool]]:
    """SQL conditions on ``Device`` for a stored target (registry.queries.device_conditions underneath)."""
    cond = device_conditions(DeviceFilter(role=target.get("role") or role, status="enrolled"), dialect)
    if target.get("regions"):
        cond.append(_any_of([device_conditions(DeviceFilter(region=r), dialect) for r in target["regions"]]))
    if target.get("tags"):
        cond.append(_any_of([device_conditions(DeviceFilter(tag=t), dialect) for t in target["tags"]]))
    if target.get("stations"):
        codes = select(Station.id).where(Station.code.in_(list(target["stations"])))
        cond.append(Device.station_id.in_(codes))
    return cond


def _candidates(session: Session, campaign: Campaign, role: str | None) -> list[tuple[str, str, str, str]]:
    """(device id, station code, region path, time zone) of targeted devices not yet in the campaign."""
    members = select(CampaignDevice.device_id).where(CampaignDevice.campaign_id == campaign.id)
    stmt = (
        select(Device.id, Station.code, Device.region_path, Region.timezone)
        .join(Station, Station.id == Device.station_id)
        .join(Region, Region.id == Station.region_id)
        .where(*target_conditions(campaign.target, role, dialect_of(session)), Device.id.not_in(members))
        .order_by(Device.id)
    )
    return [(r[0], r[1], r[2], r[3]) for r in session.execute(stmt)]


def add_members(
    session: Session, *, campaign: Campaign, plan: WavePlan, role: str | None, now: datetime
) -> int:
    """Insert targeted devices that are not members yet; at the start every device gets its planned wave,
    later ones join the current wave (hawkBit's "dynamic" groups). Does not commit."""
    found = _candidates(session, campaign, role)
    if not found:
        return 0
    initial = campaign.wave_count == 0
    if initial:
        waves = assign_waves(plan, campaign.id, [(dev, station) for dev, station, _p, _t in found])
    else:
        waves = {dev: join_wave(plan, campaign.current_wave, station) for dev, station, _p, _t in found}
    rows = [
        {
            "campaign_id": campaign.id,
            "device_id": dev,
            "station_code": station,
            "region_path": path,
            "timezone": tz,
            "wave": waves[dev],
            "order_key": order_key(campaign.id, dev),
            "state": "pending",
            "attempts": 0,
            "failures": {},
            "bytes_done": 0,
            "joined_at": now,
        }
        for dev, station, path, tz in found
    ]
    for start in range(0, len(rows), _INSERT_BATCH):
        session.execute(insert(CampaignDevice), rows[start : start + _INSERT_BATCH])
    campaign.wave_count = max(campaign.wave_count, max(waves.values()) + 1)
    if not initial:
        session.add(
            CampaignEvent(
                campaign_id=campaign.id,
                at=now,
                kind="devices_joined",
                detail={"count": len(rows), "wave": campaign.current_wave},
            )
        )
        log.info("campaign %s: %d devices joined wave %d", campaign.name, len(rows), campaign.current_wave)
    campaign.members_checked_at = now
    return len(rows)
