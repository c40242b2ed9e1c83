"""H3C / HPE Comware 7: VLAN interface with portal, WLAN service template with per-client rate limits."""

from __future__ import annotations

from typing import Any

from .base import Check, N, TreeProfile, vlan_check
from .intent import RouterIntent
from .parsing import parse_ntc


class ComwareProfile(TreeProfile):
    name = "hp_comware"
    error_pattern = r"% Unrecognized command|% Incomplete command|% Wrong parameter|% Too many parameters"
    show_running = "display current-configuration"
    undo_word = "undo"
    exit_word = "quit"
    comments = ("#",)
    volatile = (r"^\s*version \d",)

    def tree(self, intent: RouterIntent) -> list[N]:
        vlan = intent.vlan
        nodes = [N(f"vlan {vlan.id}", [N(f"name {vlan.name}")])]
        svi: list[N] = []
        if vlan.interface is not None:
            svi.append(N(f"ip address {vlan.interface.ip} {vlan.interface.netmask}"))
        if intent.portal is not None:
            url = f"{intent.portal.login_url}?gw_id={intent.portal.gateway_id}"
            nodes.append(N("portal web-server sf-portal", [N(f"url {url}")]))
            svi += [N("portal enable method direct"), N("portal apply web-server sf-portal")]
        if svi:
            nodes.append(N(f"interface Vlan-interface{vlan.id}", svi))
        template = [N(f"ssid {intent.wifi.ssid}"), N(f"vlan {vlan.id}")]
        if intent.rate is not None:
            template += [
                N(f"client-rate-limit direction inbound mode static cir {intent.rate.up_kbps}"),
                N(f"client-rate-limit direction outbound mode static cir {intent.rate.down_kbps}"),
            ]
        template.append(N("service-template enable"))
        nodes.append(N("wlan service-template sf-guest", template))
        return nodes

    def checks(self, intent: RouterIntent) -> list[Check]:
        command = "display vlan brief"
        return [
            vlan_check(
                command,
                intent.vlan.id,
                lambda out: parse_ntc(platform="hp_comware", command=command, output=out),
            )
        ]

    def facts_commands(self) -> list[str]:
        return ["display device manuinfo"]

    def parse_facts(self, outputs: dict[str, str]) -> dict[str, Any]:
        rows = parse_ntc(
            platform="hp_comware",
            command="display device manuinfo",
            output=outputs["display device manuinfo"],
        )
        return {"vendor": "h3c", **({k: v for k, v in rows[0].items() if v} if rows else {})}


PROFILE = ComwareProfile()
