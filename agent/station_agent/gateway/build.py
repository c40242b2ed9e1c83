"""Builds a Gateway and its enforcer loop from the agent settings with the real adapters.

``router_parts`` is what the runtime loads for role ``router`` (and only for it, see roles.py).
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ..commands.portal import PortalCommands
from ..config import GatewaySettings
from ..outbox import Outbox
from ..roles import RoleParts
from ..state import StateStore
from .dhcp_option import DhcpOptionFile
from .enforcer import EnforcerLoop
from .gateway import Gateway, Splash
from .neighbours import Neighbours, ProcArp
from .nft import Firewall, SubprocessNft
from .splash_state import interface_ipv4
from .tc import Shaper, SubprocessTc
from .validate import parse_config


class GatewayPortal:
    """The ``PortalPort`` of desired config: checks with ``parse_config``, applies to the gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def check(self, value: Any) -> Dict[str, Any]:
        return parse_config(value).to_dict()  # InvalidPortalArgs is a PermanentError naming the field

    def apply(self, value: Optional[Mapping[str, Any]]) -> None:
        self._gateway.apply_config(parse_config(dict(value)) if value is not None else None)


def build_gateway(
    settings: GatewaySettings,
    *,
    device_id: str,
    store: StateStore,
    outbox: Outbox,
    neighbours: Optional[Neighbours] = None,
) -> Gateway:
    arp = neighbours or ProcArp()

    def splash(ip: str, port: int, backend: Gateway) -> Splash:
        from .splash import SplashServer  # http.server is loaded only when a portal is enabled

        return SplashServer(ip, port, backend=backend, neighbours=arp)

    return Gateway(
        device_id=device_id,
        store=store,
        outbox=outbox,
        firewall=Firewall(SubprocessNft(timeout_s=settings.tool_timeout_s)),
        shaper=Shaper(
            SubprocessTc(timeout_s=settings.tool_timeout_s),
            ifb=settings.ifb_device,
            default_kbit=settings.default_kbit,
        ),
        splash_factory=splash,
        lan_ip_of=interface_ipv4,
        dhcp=DhcpOptionFile(settings.dnsmasq_snippet),
    )


def build_enforcer(settings: GatewaySettings, gateway: Gateway) -> EnforcerLoop:
    """The loop wakes at each session's expiry, so the cut never waits for ``check_interval_s``."""
    loop = EnforcerLoop(
        gateway,
        check_interval_s=settings.check_interval_s,
        accounting_interval_s=settings.accounting_interval_s,
        device_id=gateway.device_id,
    )
    gateway.on_sessions_changed = loop.wake
    return loop


def router_parts(
    settings: GatewaySettings, *, device_id: str, store: StateStore, outbox: Outbox
) -> RoleParts:
    """The gateway, its ``portal.*`` handlers and the enforcer loop of a router agent."""
    gateway = build_gateway(settings, device_id=device_id, store=store, outbox=outbox)
    enforcer = build_enforcer(settings, gateway)
    return RoleParts(
        handlers=PortalCommands(gateway).handlers(),
        loops=[("portal", enforcer.run)],
        portal=GatewayPortal(gateway),
        close=gateway.close,  # the nft table and tc classes stay: clients remain online meanwhile
    )
