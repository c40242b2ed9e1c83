"""Renders ``table inet station_portal`` and its element updates as nft text (pure functions).

Design (why): one table of sets, no per-client rules, so a login or a kick is one ``add``/``delete
element`` transaction and never a reload. Per-client byte counters are per-element counters of two
sets that are looked up only in the forward path, once per packet:

- ``auth_up``   ``ether_addr . ipv4_addr`` (MAC and IP bound together), matched on LAN → anywhere:
  upload bytes of the client;
- ``auth_down`` ``ipv4_addr``, matched on anywhere → LAN: download bytes (the L2 source of a packet
  arriving from the WAN is the upstream router, so only the IP can key it).

A positive lookup updates the element's counter, a negated one (``!= @set``) never does, so the NAT
chain tests membership with ``!=`` and the counters stay exact. IPv6 forwarded from the LAN is dropped
for everyone but trusted MACs (``ipv6 = "block"``): sessions are bound to MAC + IPv4, and IPv6 traffic
would bypass both the counters and the IPv4 u32 shaping filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Sequence

from .validate import PortalConfig

TABLE = "station_portal"
FAMILY = "inet"
QUALIFIED = f"{FAMILY} {TABLE}"


@dataclass(frozen=True)
class Client:
    """An authenticated client as the firewall sees it (validated MAC and IPv4)."""

    mac: str
    ip: str


def _elements(items: Sequence[str]) -> str:
    return f"\t\telements = {{ {', '.join(items)} }}\n" if items else ""


def _set(name: str, kind: str, items: Sequence[str], *, counter: bool = False, interval: bool = False) -> str:
    body = f"\t\ttype {kind}\n"
    if interval:
        body += "\t\tflags interval\n"
    if counter:
        body += "\t\tcounter\n"
    return f"\tset {name} {{\n{body}{_elements(items)}\t}}\n"


def _chain(name: str, rules: Iterable[str], hook: str = "") -> str:
    lines = [f"\t\t{hook}\n"] if hook else []
    lines += [f"\t\t{rule}\n" for rule in rules]
    return f"\tchain {name} {{\n{''.join(lines)}\t}}\n"


def _sets(cfg: PortalConfig, clients: Sequence[Client]) -> str:
    ordered = sorted(clients, key=lambda c: (c.ip, c.mac))
    return "".join(
        [
            _set("auth_up", "ether_addr . ipv4_addr", [f"{c.mac} . {c.ip}" for c in ordered], counter=True),
            _set("auth_down", "ipv4_addr", [c.ip for c in ordered], counter=True),
            _set("trusted_macs", "ether_addr", list(cfg.trusted_macs)),
            _set("blocked_macs", "ether_addr", list(cfg.blocked_macs)),
            _set("walled_garden", "ipv4_addr", list(cfg.walled_garden), interval=True),
        ]
    )


def _chains(cfg: PortalConfig) -> str:
    lan = f'"{cfg.lan_interface}"'
    port = cfg.splash_port
    return "".join(
        [
            _chain(
                "pre_filter",
                [f"iifname {lan} ether saddr @blocked_macs drop"],
                "type filter hook prerouting priority -300; policy accept;",
            ),
            _chain(
                "pre_nat",
                [
                    f"iifname {lan} tcp dport 80 ether saddr . ip saddr != @auth_up"
                    f" ether saddr != @trusted_macs ip daddr != @walled_garden redirect to :{port}"
                ],
                "type nat hook prerouting priority dstnat; policy accept;",
            ),
            _chain(
                "forward",
                [f"iifname {lan} jump from_lan", f"oifname {lan} jump to_lan"],
                "type filter hook forward priority filter; policy accept;",
            ),
            _chain("from_lan", _from_lan_rules()),
            _chain("to_lan", ["ip daddr @auth_down accept", "ct state established,related accept", "drop"]),
            _chain(
                "input",
                [f"iifname {lan} jump lan_input"],
                "type filter hook input priority filter; policy accept;",
            ),
            _chain("lan_input", _lan_input_rules(port)),
        ]
    )


def _from_lan_rules() -> List[str]:
    return [
        "ether saddr @trusted_macs accept",
        "ether saddr . ip saddr @auth_up accept",
        "meta nfproto ipv6 drop",
        "udp dport 53 drop",  # DNS only to the router (input chain): no tunnelling past the portal
        "tcp dport 53 reject with tcp reset",
        "ip daddr @walled_garden accept",
        "udp dport { 80, 443 } drop",  # QUIC: browsers fall back to TCP, which is redirected/reset
        "meta l4proto tcp reject with tcp reset",  # apps fail fast instead of hanging
        "drop",
    ]


def _lan_input_rules(port: int) -> List[str]:
    return [
        "ct state established,related accept",
        "udp dport { 53, 67 } accept",
        f"tcp dport {{ 53, {port} }} accept",
        "meta l4proto { icmp, ipv6-icmp } accept",
        "udp dport 547 accept",  # DHCPv6 server, harmless: forwarded IPv6 is dropped anyway
        "ether saddr @trusted_macs accept",
        "drop",
    ]


def render_table(cfg: PortalConfig, clients: Sequence[Client]) -> str:
    """One ``nft -f`` batch that atomically replaces the whole table (create-if-missing, delete, define)."""
    return (
        f"table {QUALIFIED}\ndelete table {QUALIFIED}\n"
        f"table {QUALIFIED} {{\n{_sets(cfg, clients)}{_chains(cfg)}}}\n"
    )


def render_delete() -> str:
    """Deletes the table if it exists (declaring it first makes the delete idempotent)."""
    return f"table {QUALIFIED}\ndelete table {QUALIFIED}\n"


def render_add_clients(clients: Sequence[Client]) -> str:
    """Adds clients to both counter sets in one transaction."""
    return "".join(
        f"add element {QUALIFIED} auth_up {{ {c.mac} . {c.ip} }}\n"
        f"add element {QUALIFIED} auth_down {{ {c.ip} }}\n"
        for c in clients
    )


def render_delete_clients(clients: Sequence[Client]) -> str:
    """Removes clients from both counter sets in one transaction, present or not.

    nft 1.0.6 has no ``destroy element``; ``add`` (a no-op for a present element) before ``delete``
    in the same batch makes the removal idempotent.
    """
    return render_add_clients(clients) + "".join(
        f"delete element {QUALIFIED} auth_up {{ {c.mac} . {c.ip} }}\n"
        f"delete element {QUALIFIED} auth_down {{ {c.ip} }}\n"
        for c in clients
    )
