"""Huawei VRP (AR routers with a WLAN AC): WLAN profiles, VLANIF, portal URL template, rate limits."""

from __future__ import annotations

from typing import Any

from .base import Check, N, TreeProfile, vlan_check
from .intent import RouterIntent
from .parsing import parse_ntc

NTC_PLATFORM = "huawei_vrp"  # netmiko calls it "huawei", ntc-templates "huawei_vrp"


class HuaweiProfile(TreeProfile):
    name = "huawei"
    error_pattern = r"Error:|Unrecognized command|Incomplete command|Wrong parameter"
    show_running = "display current-configuration"
    undo_word = "undo"
    exit_word = "quit"
    comments = ("#", "!")

    def tree(self, intent: RouterIntent) -> list[N]:
        vlan = intent.vlan
        nodes = [N(f"vlan {vlan.id}", [N(f"description {vlan.name}")])]
        if vlan.interface is not None:
            nodes.append(
                N(
                    f"interface Vlanif{vlan.id}",
                    [N(f"ip address {vlan.interface.ip} {vlan.interface.netmask}")],
                )
            )
        if intent.portal is not None:
            url = f"{intent.portal.login_url}?gw_id={intent.portal.gateway_id}"
            nodes.append(N("url-template name sf-portal", [N(f"url {url}")]))
        wlan: list[N] = []
        vap = [
            N("forward-mode direct-forward"),
            N(f"service-vlan vlan-id {vlan.id}"),
            N("ssid-profile sf-ssid"),
        ]
        if intent.rate is not None:
            wlan.append(
                N(
                    "traffic-profile name sf-rate",
                    [
                        N(f"rate-limit client up {intent.rate.up_kbps}"),
                        N(f"rate-limit client down {intent.rate.down_kbps}"),
                    ],
                )
            )
            vap.append(N("traffic-profile sf-rate"))
        wlan.append(N("ssid-profile name sf-ssid", [N(f"ssid {intent.wifi.ssid}")]))
        wlan.append(N("vap-profile name sf-vap", vap))
        nodes.append(N("wlan", wlan))
        return nodes

    def checks(self, intent: RouterIntent) -> list[Check]:
        command = "display vlan brief"
        return [
            vlan_check(
                command,
                intent.vlan.id,
                lambda out: parse_ntc(platform=NTC_PLATFORM, command=command, output=out),
            )
        ]

    def facts_commands(self) -> list[str]:
        return ["display version"]

    def parse_facts(self, outputs: dict[str, str]) -> dict[str, Any]:
        rows = parse_ntc(platform=NTC_PLATFORM, command="display version", output=outputs["display version"])
        return {"vendor": "huawei", **({k: v for k, v in rows[0].items() if v} if rows else {})}


PROFILE = HuaweiProfile()
