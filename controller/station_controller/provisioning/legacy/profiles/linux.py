"""OpenWrt / Linux shell: UCI (`uci show` / `uci set` / `uci commit`), applied as exec commands."""

from __future__ import annotations

import shlex
from typing import Any

from .base import Check
from .intent import RouterIntent
from .parsing import parse_ntc, parse_own

SECTION = "sf_guest"  # every section we manage is named sf_guest*; the rest of the router is left alone


def _value(raw: str) -> str:
    """``'a b'`` → ``a b``; a list option keeps its items space-separated, each unquoted."""
    try:
        return " ".join(shlex.split(raw)) if raw else ""
    except ValueError:
        return raw


def parse_uci(text: str) -> dict[str, str]:
    """``uci show`` output as {key: value}; a section's key maps to its type."""
    entries: dict[str, str] = {}
    for row in parse_own("linux_uci_show.textfsm", text.strip() + "\n"):
        key = f"{row['config']}.{row['section']}" + (f".{row['option']}" if row["option"] else "")
        entries[key] = _value(row["value"])
    return entries


def _line(key: str, value: str) -> str:
    """One line as `uci show` prints it: section types bare, option values in single quotes."""
    if key.count(".") == 1:
        return f"{key}={value}"
    return f"{key}='" + value.replace("'", "'\\''") + "'"


def render_uci(entries: dict[str, str]) -> str:
    """Canonical ``uci show`` text: sorted, so a section's type line precedes its options."""
    return "".join(_line(k, entries[k]) + "\n" for k in sorted(entries))


class LinuxProfile:
    name = "linux"
    config_mode = False
    error_pattern = r"(?m)^uci: |command not found|Permission denied|Read-only file system"
    show_running = "uci show"

    def normalise(self, raw: str) -> str:
        return render_uci(parse_uci(raw))

    def entries(self, intent: RouterIntent) -> dict[str, str]:
        vlan, dev = intent.vlan, f"br-lan.{intent.vlan.id}"
        out = {
            f"network.{SECTION}_vlan": "device",
            f"network.{SECTION}_vlan.type": "8021q",
            f"network.{SECTION}_vlan.ifname": "br-lan",
            f"network.{SECTION}_vlan.vid": str(vlan.id),
            f"network.{SECTION}_vlan.name": dev,
            f"network.{SECTION}": "interface",
            f"network.{SECTION}.device": dev,
            f"network.{SECTION}.proto": "static" if vlan.interface else "none",
            f"wireless.{SECTION}": "wifi-iface",
            f"wireless.{SECTION}.device": intent.wifi.radio,
            f"wireless.{SECTION}.mode": "ap",
            f"wireless.{SECTION}.network": SECTION,
            f"wireless.{SECTION}.ssid": intent.wifi.ssid,
            f"wireless.{SECTION}.encryption": "none",
        }
        if vlan.interface is not None:
            out[f"network.{SECTION}.ipaddr"] = str(vlan.interface.ip)
            out[f"network.{SECTION}.netmask"] = str(vlan.interface.netmask)
        if intent.portal is not None:
            portal = intent.portal
            out.update(
                {
                    f"wifidog.{SECTION}": "wifidog",
                    f"wifidog.{SECTION}.enabled": "1",
                    f"wifidog.{SECTION}.gateway_id": portal.gateway_id,
                    f"wifidog.{SECTION}.gateway_interface": dev,
                    f"wifidog.{SECTION}.auth_server_hostname": portal.host,
                    f"wifidog.{SECTION}.auth_server_port": str(portal.port),
                    f"wifidog.{SECTION}.auth_server_path": portal.path,
                }
            )
        if intent.rate is not None:
            out.update(
                {
                    f"sqm.{SECTION}": "queue",
                    f"sqm.{SECTION}.enabled": "1",
                    f"sqm.{SECTION}.interface": dev,
                    f"sqm.{SECTION}.upload": str(intent.rate.up_kbps),
                    f"sqm.{SECTION}.download": str(intent.rate.down_kbps),
                }
            )
        return out

    def fragment(self, intent: RouterIntent) -> str:
        return render_uci(self.entries(intent))

    def apply_lines(self, intent: RouterIntent) -> list[str]:
        entries = self.entries(intent)
        return [f"uci set {shlex.quote(f'{k}={entries[k]}')}" for k in sorted(entries)]

    def save_lines(self) -> list[str]:
        return ["uci commit", "reload_config"]

    def expected(self, running: str, intent: RouterIntent) -> str:
        return render_uci({**parse_uci(running), **self.entries(intent)})

    def missing(self, running: str, intent: RouterIntent) -> list[str]:
        have = parse_uci(running)
        return [_line(k, v) for k, v in sorted(self.entries(intent).items()) if have.get(k) != v]

    def restore_lines(self, backup: str, running: str) -> list[str]:
        old, now = parse_uci(backup), parse_uci(running)
        gone = [k for k in sorted(now) if k not in old]
        sections = {k for k in gone if k.count(".") == 1}
        # Deleting a section deletes its options; delete the others one by one.
        deletes = [k for k in gone if k in sections or k.rsplit(".", 1)[0] not in sections]
        lines = [f"uci delete {shlex.quote(k)}" for k in deletes]
        lines += [f"uci set {shlex.quote(f'{k}={v}')}" for k, v in sorted(old.items()) if now.get(k) != v]
        return lines

    def checks(self, intent: RouterIntent) -> list[Check]:
        return []

    def facts_commands(self) -> list[str]:
        return ["ip link show"]

    def parse_facts(self, outputs: dict[str, str]) -> dict[str, Any]:
        rows = parse_ntc(platform="linux", command="ip link show", output=outputs["ip link show"])
        links = {r["interface"]: r.get("mac_address", "") for r in rows}
        return {"vendor": "linux", "interfaces": links}


PROFILE = LinuxProfile()
