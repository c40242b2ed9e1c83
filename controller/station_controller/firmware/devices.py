"""Device views of firmware: versions and slots from the births, version distribution per region, each
device's update history, and the live per-device progress of a firmware campaign."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..campaigns.models import Campaign, CampaignDevice
from ..errors import NotFound
from ..registry.models import Device, Station
from ..registry.queries import dialect_of, in_subtree
from .models import FirmwareDeviceState, FirmwareUpdateEvent

PROGRESS_STATES = (
    "pending",
    "queued",
    "downloading",
    "installing",
    "restarting",
    "health_check",
    "committed",
    "rolled_back",
    "refused",
    "failed",
)


@dataclass(frozen=True)
class DeviceFirmware:
    device_id: str
    role: str
    station: str
    region_path: str
    online: bool
    agent_version: str | None
    agent_slot: str | None
    os_version: str | None
    os_slot: str | None
    last_update: dict[str, Any] | None
    state: str | None  # the current (or last) job's state, from firmware.progress
    release_id: str | None
    reason: str | None
    detail: str | None
    state_since: datetime | None
    stuck_at: datetime | None


def _view(device: Device, code: str, st: FirmwareDeviceState | None) -> DeviceFirmware:
    return DeviceFirmware(
        device_id=device.id,
        role=device.role,
        station=code,
        region_path=device.region_path,
        online=device.online,
        agent_version=device.agent_version,
        agent_slot=device.agent_slot,
        os_version=device.os_version,
        os_slot=device.os_slot,
        last_update=device.last_update,
        state=st.state if st else None,
        release_id=st.release_id if st else None,
        reason=st.reason if st else None,
        detail=st.detail if st else None,
        state_since=st.state_since if st else None,
        stuck_at=st.stuck_at if st else None,
    )


def _joined() -> Any:
    return (
        select(Device, Station.code, FirmwareDeviceState)
        .join(Station, Station.id == Device.station_id)
        .outerjoin(FirmwareDeviceState, FirmwareDeviceState.device_id == Device.id)
    )


def list_device_firmware(
    session: Session,
    *,
    region: str | None = None,
    agent_version: str | None = None,
    state: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[DeviceFirmware]:
    """Enrolled devices with their firmware view, by id."""
    stmt = _joined().where(Device.status == "enrolled").order_by(Device.id).limit(limit).offset(offset)
    if region:
        stmt = stmt.where(in_subtree(Device.region_path, region, dialect_of(session)))
    if agent_version:
        stmt = stmt.where(Device.agent_version == agent_version)
    if state:
        stmt = stmt.where(FirmwareDeviceState.state == state)
    return [_view(d, code, st) for d, code, st in session.execute(stmt)]


def device_firmware(session: Session, *, device_id: str) -> DeviceFirmware:
    row = session.execute(_joined().where(Device.id == device_id)).first()
    if row is None:
        raise NotFound(f"device {device_id} does not exist")
    return _view(row[0], row[1], row[2])


def device_history(session: Session, *, device_id: str, limit: int = 100) -> list[FirmwareUpdateEvent]:
    """Newest first: every state the device's updates entered, with reasons."""
    stmt = (
        select(FirmwareUpdateEvent)
        .where(FirmwareUpdateEvent.device_id == device_id)
        .order_by(FirmwareUpdateEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _prefix(path: str, depth: int) -> str:
    return "/".join(path.split("/")[:depth])


def version_distribution(
    session: Session, *, kind: str = "agent", depth: int = 2, region: str | None = None
) -> dict[str, dict[str, int]]:
    """{region prefix (``depth`` levels): {version: enrolled devices}}; unknown versions as ``-``."""
    column = Device.agent_version if kind == "agent" else Device.os_version
    stmt = (
        select(Device.region_path, column, func.count())
        .where(Device.status == "enrolled")
        .group_by(Device.region_path, column)
    )
    if region:
        stmt = stmt.where(in_subtree(Device.region_path, region, dialect_of(session)))
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for path, version, count in session.execute(stmt):
        out[_prefix(path, depth)][version or "-"] += count
    return {key: dict(sorted(counts.items())) for key, counts in sorted(out.items())}


@dataclass(frozen=True)
class CampaignDeviceProgress:
    device_id: str
    station: str
    region_path: str
    wave: int
    campaign_state: str  # the engine's: pending, running, succeeded, failed, ...
    state: str  # the device's firmware state for this campaign's job (or pending)
    reason: str | None
    detail: str | None
    bytes_done: int
    bytes_total: int | None
    updated_at: datetime | None


def campaign_device_progress(
    session: Session, *, campaign_id: int, limit: int = 1000
) -> tuple[dict[str, int], list[CampaignDeviceProgress]]:
    """Per-device firmware progress of a campaign (its current job only) and counts per state."""
    if session.get(Campaign, campaign_id) is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    stmt = (
        select(CampaignDevice, FirmwareDeviceState)
        .outerjoin(
            FirmwareDeviceState,
            (FirmwareDeviceState.device_id == CampaignDevice.device_id)
            & (FirmwareDeviceState.job_id == CampaignDevice.job_id),
        )
        .where(CampaignDevice.campaign_id == campaign_id)
        .order_by(CampaignDevice.wave, CampaignDevice.order_key)
    )
    counts: Counter[str] = Counter()
    rows: list[CampaignDeviceProgress] = []
    for dev, st in session.execute(stmt):
        state = st.state if st is not None else _engine_word(dev)
        counts[state] += 1
        if len(rows) < limit:
            rows.append(
                CampaignDeviceProgress(
                    device_id=dev.device_id,
                    station=dev.station_code,
                    region_path=dev.region_path,
                    wave=dev.wave,
                    campaign_state=dev.state,
                    state=state,
                    reason=st.reason if st is not None else dev.failure_type,
                    detail=st.detail if st is not None else dev.error,
                    bytes_done=st.bytes_done if st is not None else dev.bytes_done,
                    bytes_total=st.bytes_total if st is not None else dev.bytes_total,
                    updated_at=st.updated_at if st is not None else dev.updated_at,
                )
            )
    return dict(counts), rows


def _engine_word(dev: CampaignDevice) -> str:
    """No firmware event for the current job yet: the engine's state says where it is."""
    if dev.state == "running":
        return str(dev.status or "starting")
    return dev.state


def firmware_campaigns(session: Session, *, limit: int = 50) -> list[Campaign]:
    stmt = (
        select(Campaign).where(Campaign.payload_kind == "firmware").order_by(Campaign.id.desc()).limit(limit)
    )
    return list(session.scalars(stmt))


def campaign_state(session: Session, *, campaign_id: int) -> str:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    return campaign.state
