"""Builds a Gateway and its enforcer loop from the agent settings with the real adapters."""

from __future__ import annotations

from typing import Optional

from ..config import GatewaySettings
from ..outbox import Outbox
from ..state import StateStore
from .dhcp_option import DhcpOptionFile
from .enforcer import EnforcerLoop
from .gateway import Gateway, Splash
from .neighbours import Neighbours, ProcArp
from .nft import Firewall, SubprocessNft
from .splash import SplashServer, interface_ipv4
from .tc import Shaper, SubprocessTc


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
