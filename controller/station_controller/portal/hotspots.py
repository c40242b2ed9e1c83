"""Routers with the portal enabled: per-router gateway key and the desired-config ``portal`` key."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..commands.publisher import CommandPublisher
from ..commands.service import set_desired_config
from ..errors import Conflict, NotFound
from ..kernel.clock import utcnow
from ..registry.models import Device
from ..registry.service import get_device, normalise_mac
from ..settings import Settings
from . import policies
from .models import Hotspot
from .tokens import new_gateway_key

log = logging.getLogger(__name__)


def get_hotspot(session: Session, *, device_id: str) -> Hotspot:
    hotspot = session.get(Hotspot, device_id)
    if hotspot is None:
        raise NotFound(f"{device_id} has no portal; enable it with PUT /api/v1/portal/hotspots/{device_id}")
    return hotspot


def list_hotspots(session: Session) -> list[tuple[Hotspot, Device]]:
    stmt = select(Hotspot, Device).join(Device, Device.id == Hotspot.device_id).order_by(Hotspot.device_id)
    return [(h, d) for h, d in session.execute(stmt)]


def portal_config(
    session: Session, *, settings: Settings, hotspot: Hotspot, device: Device
) -> dict[str, Any]:
    """The ``portal`` key of the router's desired config (docs/portal.md)."""
    policy = policies.resolve(
        session,
        settings=settings,
        region_path=device.region_path,
        station_code=device.station.code,
        device_id=device.id,
    )
    garden = list(dict.fromkeys([*settings.portal_walled_garden, *policy.walled_garden]))
    return {
        "enabled": hotspot.enabled,
        "lan_interface": hotspot.lan_interface,
        "wan_interface": hotspot.wan_interface,
        "portal_url": settings.portal_url,
        "gateway_key": hotspot.gateway_key,
        "splash_port": hotspot.splash_port,
        "walled_garden": garden,
        "trusted_macs": list(hotspot.trusted_macs or []),
        "blocked_macs": list(hotspot.blocked_macs or []),
        "ipv6": "block",
    }


def push_config(
    session: Session, *, settings: Settings, publisher: CommandPublisher | None, hotspot: Hotspot
) -> None:
    """Merge the ``portal`` key into the router's desired config and publish it (retained)."""
    device = get_device(session, device_id=hotspot.device_id)
    config = dict(device.desired_config or {})
    config["portal"] = portal_config(session, settings=settings, hotspot=hotspot, device=device)
    set_desired_config(session, publisher=publisher, device_id=device.id, config=config)


def _macs(values: list[str] | None) -> list[str]:
    return sorted({m for m in (normalise_mac(v) for v in values or []) if m})


def put_hotspot(
    session: Session,
    *,
    settings: Settings,
    publisher: CommandPublisher | None,
    device_id: str,
    fields: dict[str, Any],
) -> Hotspot:
    """Enable (or update) the portal on a router; a new hotspot gets a fresh 256-bit gateway key.

    Raises:
        Conflict: the device is not a router. DeviceUnreachable: stored, not published; PUT again.
    """
    device = get_device(session, device_id=device_id)
    if device.role != "router":
        raise Conflict(f"{device_id} is a {device.role}; the portal runs on routers")
    hotspot = session.get(Hotspot, device_id)
    if hotspot is None:
        hotspot = Hotspot(
            device_id=device_id, gateway_key=new_gateway_key(), trusted_macs=[], blocked_macs=[]
        )
        session.add(hotspot)
    hotspot.enabled = bool(fields.get("enabled", True))
    for name in ("lan_interface", "wan_interface", "splash_port"):
        if fields.get(name) is not None:
            setattr(hotspot, name, fields[name])
    for name in ("trusted_macs", "blocked_macs"):
        if fields.get(name) is not None:
            setattr(hotspot, name, _macs(fields[name]))
    hotspot.updated_at = utcnow()
    session.commit()
    log.info("%s portal %s", device_id, "enabled" if hotspot.enabled else "disabled")
    push_config(session, settings=settings, publisher=publisher, hotspot=hotspot)
    return hotspot


def rotate_key(
    session: Session, *, settings: Settings, publisher: CommandPublisher | None, device_id: str
) -> Hotspot:
    """New gateway key (old splash links stop verifying once the router has the new config)."""
    hotspot = get_hotspot(session, device_id=device_id)
    hotspot.gateway_key = new_gateway_key()
    hotspot.updated_at = utcnow()
    session.commit()
    log.info("%s portal gateway key rotated", device_id)
    push_config(session, settings=settings, publisher=publisher, hotspot=hotspot)
    return hotspot
