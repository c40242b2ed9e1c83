"""Registered WiFiDog gateways: gw_id plus the source addresses (CIDR) its requests may come from."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import InvalidInput, NotFound
from ...registry.clock import utcnow
from ...registry.service import get_station
from ..errors import GatewayNotRegistered
from ..models import WifidogGateway

log = logging.getLogger(__name__)
PING_FIELDS = (
    "sys_uptime",
    "sys_memfree",
    "sys_load",
    "wifidog_uptime",
    "online_clients",
    "offline_clients",
    "cpu_usage",
    "nf_conntrack_count",
    "fm_version",
    "aw_version",
    "type",
    "name",
    "ssid",
)


def _networks(sources: list[str]) -> list[str]:
    try:
        return [str(ipaddress.ip_network(s.strip(), strict=False)) for s in sources]
    except ValueError as exc:
        raise InvalidInput(f"allowed_sources: {exc}; give addresses or CIDRs like 203.0.113.7/32") from None


def put_gateway(
    session: Session, *, gw_id: str, allowed_sources: list[str], station_code: str | None, name: str
) -> WifidogGateway:
    """Register (or update) a gateway; it is answered only from ``allowed_sources``."""
    if not gw_id or len(gw_id) > 64:
        raise InvalidInput("gw_id must be 1-64 characters (the GatewayID of wifidog.conf)")
    networks = _networks(allowed_sources)
    if not networks:
        raise InvalidInput("allowed_sources must list at least one address or CIDR")
    station = get_station(session, code=station_code) if station_code else None
    gateway = session.get(WifidogGateway, gw_id)
    if gateway is None:
        gateway = WifidogGateway(gw_id=gw_id, created_at=utcnow())
        session.add(gateway)
    gateway.allowed_sources, gateway.name = networks, name
    gateway.station_id = station.id if station else None
    session.commit()
    log.info("wifidog gateway %s registered from %s", gw_id, networks)
    return gateway


def list_gateways(session: Session) -> list[WifidogGateway]:
    return list(session.scalars(select(WifidogGateway).order_by(WifidogGateway.gw_id)))


def delete_gateway(session: Session, *, gw_id: str) -> None:
    gateway = session.get(WifidogGateway, gw_id)
    if gateway is None:
        raise NotFound(f"wifidog gateway {gw_id!r} is not registered")
    session.delete(gateway)
    session.commit()


def source_allowed(gateway: WifidogGateway, source_ip: str) -> bool:
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in gateway.allowed_sources or [])


def check_gateway(session: Session, *, gw_id: str, source_ip: str) -> WifidogGateway:
    """The registered gateway, if the request comes from one of its allowed sources."""
    gateway = session.get(WifidogGateway, gw_id) if gw_id else None
    if gateway is None or not source_allowed(gateway, source_ip):
        log.warning("wifidog request for gw_id %r from %s refused (not registered)", gw_id[:64], source_ip)
        raise GatewayNotRegistered(
            "this gateway is not registered for this source address; ask staff to add it"
        )
    return gateway


def record_ping(session: Session, *, gateway: WifidogGateway, params: dict[str, Any]) -> None:
    gateway.last_ping_at = utcnow()
    gateway.last_ping = {k: str(params[k])[:64] for k in PING_FIELDS if k in params}
    session.commit()
