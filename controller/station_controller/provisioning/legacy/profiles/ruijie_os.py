"""Ruijie RGOS (EG gateways / WS controllers): VLAN, web-auth template, wlan-config, per-user QoS."""

from __future__ import annotations

from .base import Check, N, TreeProfile, vlan_check
from .intent import RouterIntent
from .parsing import parse_own

WLAN_ID = 1  # the guest WLAN we manage; other WLANs on the box are left alone


class RuijieProfile(TreeProfile):
    name = "ruijie_os"
    error_pattern = r"% Invalid input|% Incomplete command|% Unknown command|% Ambiguous command"
    show_running = "show running-config"
    undo_word = "no"
    exit_word = "exit"
    comments = ("!",)
    volatile = (r"^Building configuration", r"^Current configuration\s*:", r"^version ")

    def tree(self, intent: RouterIntent) -> list[N]:
        vlan = intent.vlan
        nodes = [N(f"vlan {vlan.id}", [N(f"name {vlan.name}")])]
        svi: list[N] = []
        if vlan.interface is not None:
            svi.append(N(f"ip address {vlan.interface.ip} {vlan.interface.netmask}"))
        if intent.portal is not None:
            url = f"{intent.portal.login_url}?gw_id={intent.portal.gateway_id}"
            nodes.append(N("web-auth template sf-portal", [N(f"url {url}")]))
            svi.append(N("web-auth enable sf-portal"))
        if svi:
            nodes.append(N(f"interface VLAN {vlan.id}", svi))
        nodes.append(N(f"wlan-config {WLAN_ID} {intent.wifi.ssid}", [N(f"vlan {vlan.id}")]))
        if intent.rate is not None:
            prefix = f"wlan-qos wlan-based {WLAN_ID} per-user-limit"
            nodes += [
                N(f"{prefix} up-streams average-data-rate {intent.rate.up_kbps}"),
                N(f"{prefix} down-streams average-data-rate {intent.rate.down_kbps}"),
            ]
        return nodes

    def checks(self, intent: RouterIntent) -> list[Check]:
        # ntc-templates has no Ruijie template for `show vlan`; ours is TextFSM all the same.
        return [
            vlan_check("show vlan", intent.vlan.id, lambda out: parse_own("ruijie_os_show_vlan.textfsm", out))
        ]


PROFILE = RuijieProfile()
