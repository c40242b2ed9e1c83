"""Per-router config state and the fleet view: which revision runs where, what is pending or drifted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...kernel.clock import utcnow
from ...registry.models import Device, Station
from ...settings import Settings
from ..models import ProvisioningTarget
from . import desired
from .models import ConfigDesired, DeviceConfigState
from .render import latest_seq

# What the console shows; "pending" and "drifted" are never hidden behind "applied".
VIEW_STATES = ("unmanaged", "baseline", "applied", "pending", "drifted", "failed", "render_error")


def get_state(session: Session, *, device_id: str) -> DeviceConfigState | None:
    return session.get(DeviceConfigState, device_id)


def update_state(session: Session, *, device_id: str, **fields: Any) -> DeviceConfigState:
    """Set fields of a router's state (created on first use); the caller commits."""
    state = session.get(DeviceConfigState, device_id) or DeviceConfigState(
        device_id=device_id, status="baseline"
    )
    for name, value in fields.items():
        setattr(state, name, value)
    state.updated_at = utcnow()
    session.add(state)
    return state


@dataclass(frozen=True)
class RouterConfigView:
    device_id: str
    station_code: str
    station_id: int
    profile: str
    state: str  # one of VIEW_STATES
    applied_seq: int | None
    desired_seq: int
    detail: str
    checked_at: datetime | None


@dataclass(frozen=True)
class FleetPage:
    summary: dict[str, int]  # every router, by state
    total: int  # routers matching the filter
    routers: list[RouterConfigView]  # one page of them


def view_state(state: DeviceConfigState | None, want: ConfigDesired | None, newest: int) -> str:
    """unmanaged → drifted / failed (as recorded) → baseline (nothing published yet) → render_error →
    applied (the applied hash is the desired one) → pending."""
    if state is None:
        return "unmanaged"
    if state.status in ("drifted", "failed"):
        return state.status
    if newest == 0:
        return "baseline"
    if want is None or want.sha256 is None:
        return "render_error"
    return "applied" if state.applied_hash == want.sha256 else "pending"


def _rows(session: Session) -> list[Any]:
    return list(
        session.execute(
            select(
                Device.id,
                Station.code,
                Station.id,
                ProvisioningTarget.profile,
                DeviceConfigState,
                ConfigDesired,
            )
            .join(Station, Station.id == Device.station_id)
            .join(ProvisioningTarget, ProvisioningTarget.device_id == Device.id)
            .outerjoin(DeviceConfigState, DeviceConfigState.device_id == Device.id)
            .outerjoin(ConfigDesired, ConfigDesired.device_id == Device.id)
            .where(ProvisioningTarget.profile.is_not(None))
            .order_by(Device.id)
        ).all()
    )


def _view(row: Any, newest: int) -> RouterConfigView:
    device_id, code, station_id, profile, state, want = row
    shown = view_state(state, want, newest)
    detail = want.error if shown == "render_error" and want is not None else (state.detail if state else "")
    return RouterConfigView(
        device_id=device_id,
        station_code=code,
        station_id=station_id,
        profile=str(profile),
        state=shown,
        applied_seq=state.applied_seq if state else None,
        desired_seq=newest,
        detail=detail,
        checked_at=state.checked_at if state else None,
    )


def fleet_view(
    session: Session, *, settings: Settings, only: str = "", offset: int = 0, limit: int = 200
) -> FleetPage:
    """Every legacy router's state from stored hashes (no rendering per read).

    Publishing stores each router's desired hash, so a variable changed at region level marks every
    affected router pending at once (OpenWISP controller #1070 misses exactly that). Routers added
    since the last publish are rendered here once and their hash stored.
    """
    newest = latest_seq(session)
    rows = _rows(session)
    stale = [row[0] for row in rows if newest and (row[5] is None or row[5].seq != newest)]
    if stale:
        desired.refresh(session, settings=settings, device_ids=stale)
        rows = _rows(session)
    views = [_view(row, newest) for row in rows]
    summary = dict.fromkeys(VIEW_STATES, 0)
    for view in views:
        summary[view.state] += 1
    matching = [v for v in views if not only or v.state == only]
    return FleetPage(summary=summary, total=len(matching), routers=matching[offset : offset + limit])
