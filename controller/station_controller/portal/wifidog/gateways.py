"""Registered WiFiDog gateways: gw_id plus the source addresses (CIDR) its requests may come from."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import InvalidInput, NotFound
from ...kernel.clock import utcnow
from ...registry.service import get_station
from ..errors import ForeignGatewayAddress, GatewayNotRegistered
from ..models import WifidogGateway

log = logging.getLogger(__name__)
DEFAULT_GW_PORT = 2060  # wifidog's GatewayPort default
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


def _networks(sources: list[str], field: str = "allowed_sources") -> list[str]:
    try:
        return [str(ipaddress.ip_network(s.strip(), strict=False)) for s in sources]
    except ValueError as exc:
        raise InvalidInput(f"{field}: {exc}; give addresses or CIDRs like 203.0.113.7/32") from None


def put_gateway(
    session: Session,
    *,
    gw_id: str,
    allowed_sources: list[str],
    station_code: str | None,
    name: str,
    lan_networks: list[str] | None = None,
    gw_port: int = DEFAULT_GW_PORT,
) -> WifidogGateway:
    """Register (or update) a gateway; it is answered only from ``allowed_sources``, and a login sends
    the phone back only to an address in ``lan_networks`` (or ``allowed_sources``) on ``gw_port``."""
    if not gw_id or len(gw_id) > 64:
        raise InvalidInput("gw_id must be 1-64 characters (the GatewayID of wifidog.conf)")
    networks = _networks(allowed_sources)
    lan = _networks(lan_networks or [], "lan_networks")
    if not networks:
        raise InvalidInput("allowed_sources must list at least one address or CIDR")
    station = get_station(session, code=station_code) if station_code else None
    gateway = session.get(WifidogGateway, gw_id)
    if gateway is None:
        gateway = WifidogGateway(gw_id=gw_id, created_at=utcnow())
        session.add(gateway)
    gateway.allowed_sources, gateway.name = networks, name
    gateway.lan_networks, gateway.gw_port = lan, gw_port
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


def login_target(gateway: WifidogGateway, *, address: str, port: str) -> tuple[str, int]:
    """The login's ``gw_address``/``gw_port`` if they are this gateway's own: the phone's browser is
    sent there with the token after login, so a forged login link must not name another host.

    Raises ForeignGatewayAddress: not an IP literal in ``lan_networks`` (when none are registered,
    ``allowed_sources``), or another port than the registered ``gw_port``.
    """
    networks = gateway.lan_networks or gateway.allowed_sources or []
    try:
        ip, number = ipaddress.ip_address(address.strip()), int(port)
    except ValueError:
        ip, number = None, 0
    if ip is None or number != gateway.gw_port or not any(ip in ipaddress.ip_network(n) for n in networks):
        log.warning(
            "wifidog login for gw_id %s names %s:%s outside %s port %d; refused",
            gateway.gw_id,
            address[:45],
            port[:8],
            networks,
            gateway.gw_port,
        )
        raise ForeignGatewayAddress(
            "this login link names a gateway address that is not this hotspot's; reconnect to the WiFi"
        )
    return str(ip), number


def record_ping(session: Session, *, gateway: WifidogGateway, params: dict[str, Any]) -> None:
    gateway.last_ping_at = utcnow()
    gateway.last_ping = {k: str(params[k])[:64] for k in PING_FIELDS if k in params}
    session.commit()
