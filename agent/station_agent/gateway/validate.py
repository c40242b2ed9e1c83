"""Strict parsing of the desired-config ``portal`` key and of ``portal.*`` command arguments.

``portal.*`` arguments decode through the contract (station_protocol.portal: names, types, bounds) into
its typed dataclasses; before that this module checks their meaning (a unicast MAC, a client IPv4, the
session id characters) and words the errors the way the router's operators read them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from station_protocol import MalformedMessage, contract
from station_protocol import bounds as b
from station_protocol import portal as p
from station_protocol.portal import AllowArgs as AllowArgs  # gateway.py takes the typed args

from .errors import InvalidPortalArgs

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
IFNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,15}$")  # IFNAMSIZ; quotes/spaces could not reach nft text
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
HEX64_RE = re.compile(r"^[0-9a-fA-F]{64}$")
MAX_LIST = 4096
MAX_KBPS = p.MAX_KBPS  # 10 Gbit/s
MAX_IDLE_S = p.MAX_IDLE_S
MAX_QUOTA = b.SAFE_INT_MAX  # exact in a JSON double
IPV6_MODES = ("block",)
RESERVED_PORTS = (53, 67, 80)
CONFIG_KEYS = (
    "enabled",
    "lan_interface",
    "wan_interface",
    "portal_url",
    "gateway_key",
    "splash_port",
    "walled_garden",
    "trusted_macs",
    "blocked_macs",
    "ipv6",
)


@dataclass(frozen=True)
class PortalConfig:
    """The validated ``portal`` key; ``to_dict`` is what state.db keeps."""

    enabled: bool
    lan_interface: str = ""
    wan_interface: str = ""
    portal_url: str = ""
    gateway_key: str = ""
    splash_port: int = 2050
    walled_garden: Tuple[str, ...] = ()
    trusted_macs: Tuple[str, ...] = ()
    blocked_macs: Tuple[str, ...] = ()
    ipv6: str = "block"

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        for key in ("walled_garden", "trusted_macs", "blocked_macs"):
            data[key] = list(data[key])
        return data


def mac(value: Any, name: str = "mac") -> str:
    """Lowercase ``aa:bb:cc:dd:ee:ff`` of a unicast, non-zero MAC."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not MAC_RE.match(text) or int(text[:2], 16) & 1 or text == "00:00:00:00:00:00":
        raise InvalidPortalArgs(f"{name}: expected a unicast MAC like 'aa:bb:cc:dd:ee:ff', got {value!r}")
    return text


def ipv4(value: Any, name: str = "ip") -> str:
    """Dotted IPv4 of a usable unicast host address."""
    try:
        addr = ipaddress.IPv4Address(value if isinstance(value, str) else "")
    except ValueError:
        raise InvalidPortalArgs(f"{name}: expected an IPv4 address like '10.0.0.2', got {value!r}") from None
    if addr.is_multicast or addr.is_loopback or addr.is_unspecified or str(addr) == "255.255.255.255":
        raise InvalidPortalArgs(f"{name}: {addr} is not a client's unicast address")
    return str(addr)


def integer(args: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = args.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidPortalArgs(f"{name}: expected an integer between {low} and {high}, got {value!r}")
    return value


def session_id(args: Mapping[str, Any]) -> str:
    value = args.get("session_id")
    if not isinstance(value, str) or not SESSION_ID_RE.match(value):
        raise InvalidPortalArgs(f"session_id: expected 1-64 characters [A-Za-z0-9._:-], got {value!r}")
    return value


def only_keys(args: Mapping[str, Any], allowed: Tuple[str, ...], what: str, noun: str = "argument") -> None:
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise InvalidPortalArgs(f"{what}unknown {noun}(s) {unknown}; allowed: {list(allowed)}")


def require(args: Mapping[str, Any], required: Tuple[str, ...], what: str, noun: str = "argument") -> None:
    missing = [key for key in required if key not in args]
    if missing:
        raise InvalidPortalArgs(f"{what}missing {noun}(s) {missing}")


ALLOW_KEYS = tuple(fld.name for fld in fields(AllowArgs))
REVOKE_KEYS = tuple(fld.name for fld in fields(p.RevokeArgs))
EXTEND_KEYS = tuple(fld.name for fld in fields(p.ExtendArgs))


def decode(name: str, args: Mapping[str, Any]) -> Any:
    """The contract's typed args of ``name``; its MalformedMessage (naming the field) → InvalidPortalArgs."""
    try:
        return contract.decode_args(name, args)
    except MalformedMessage as exc:
        raise InvalidPortalArgs(f"{name}: {exc}") from None


def parse_allow(args: Mapping[str, Any]) -> AllowArgs:
    """Raises InvalidPortalArgs naming the first bad or missing argument."""
    only_keys(args, ALLOW_KEYS, "portal.allow: ")
    require(args, ALLOW_KEYS, "portal.allow: ")
    checked = {
        "session_id": session_id(args),
        "mac": mac(args["mac"]),
        "ip": ipv4(args["ip"]),
        "expires_at": integer(args, "expires_at", 1, MAX_QUOTA),
        "idle_timeout_s": integer(args, "idle_timeout_s", 0, MAX_IDLE_S),
        "up_kbps": integer(args, "up_kbps", 0, MAX_KBPS),
        "down_kbps": integer(args, "down_kbps", 0, MAX_KBPS),
        "quota_bytes": integer(args, "quota_bytes", 0, MAX_QUOTA),
    }
    allow: AllowArgs = decode(p.ALLOW, checked)
    return allow


def parse_revoke(args: Mapping[str, Any]) -> Tuple[str, str, str]:
    """(session_id, mac, reason)."""
    only_keys(args, REVOKE_KEYS, "portal.revoke: ")
    require(args, ("session_id", "mac"), "portal.revoke: ")
    reason = args.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 200:
        raise InvalidPortalArgs(f"reason: expected a string of at most 200 characters, got {reason!r}")
    revoke: p.RevokeArgs = decode(p.REVOKE, {**args, "session_id": session_id(args), "mac": mac(args["mac"])})
    return revoke.session_id, revoke.mac, revoke.reason


def parse_extend(args: Mapping[str, Any]) -> Tuple[str, int, int]:
    """(session_id, expires_at, quota_bytes)."""
    only_keys(args, EXTEND_KEYS, "portal.extend: ")
    require(args, EXTEND_KEYS, "portal.extend: ")
    checked = {
        "session_id": session_id(args),
        "expires_at": integer(args, "expires_at", 1, MAX_QUOTA),
        "quota_bytes": integer(args, "quota_bytes", 0, MAX_QUOTA),
    }
    extend: p.ExtendArgs = decode(p.EXTEND, checked)
    return extend.session_id, extend.expires_at, extend.quota_bytes


def parse_sessions(args: Mapping[str, Any]) -> None:
    """``portal.sessions`` takes no arguments."""
    only_keys(args, (), "portal.sessions: ")
    decode(p.SESSIONS, args)


def parse_config(value: Any) -> PortalConfig:
    """The desired-config ``portal`` object → PortalConfig (all keys checked, nothing applied)."""
    if not isinstance(value, dict):
        raise InvalidPortalArgs(f"expected an object, got {type(value).__name__}")
    only_keys(value, CONFIG_KEYS, "", "key")
    enabled = value.get("enabled")
    if not isinstance(enabled, bool):
        raise InvalidPortalArgs(f"enabled: expected true or false, got {enabled!r}")
    if not enabled:
        return PortalConfig(enabled=False)
    require(value, ("lan_interface", "portal_url", "gateway_key"), "", "key")
    return PortalConfig(
        enabled=True,
        lan_interface=_ifname(value["lan_interface"], "lan_interface"),
        wan_interface=_ifname(value["wan_interface"], "wan_interface") if value.get("wan_interface") else "",
        portal_url=_portal_url(value["portal_url"]),
        gateway_key=_key(value["gateway_key"]),
        splash_port=_splash_port(value),
        walled_garden=_networks(value.get("walled_garden", [])),
        trusted_macs=_macs(value.get("trusted_macs", []), "trusted_macs"),
        blocked_macs=_macs(value.get("blocked_macs", []), "blocked_macs"),
        ipv6=_ipv6(value.get("ipv6", "block")),
    )


def config_from_saved(saved: Optional[Mapping[str, Any]]) -> Optional[PortalConfig]:
    return None if saved is None else parse_config(dict(saved))


def _ifname(value: Any, name: str) -> str:
    if not isinstance(value, str) or not IFNAME_RE.match(value):
        raise InvalidPortalArgs(
            f"{name}: expected an interface name (1-15 of [A-Za-z0-9_.@-]), got {value!r}"
        )
    return value


def _portal_url(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    bad = not isinstance(value, str) or len(value) > 512 or any(c in value for c in " \"'<>\\\t\r\n")
    if bad or parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise InvalidPortalArgs(f"portal_url: expected an http(s) URL without fragment, got {value!r}")
    return str(value)


def _key(value: Any) -> str:
    if not isinstance(value, str) or not HEX64_RE.match(value):
        raise InvalidPortalArgs("gateway_key: expected 64 hex characters (a 256-bit key)")
    return value.lower()


def _splash_port(value: Mapping[str, Any]) -> int:
    port = integer(value, "splash_port", 1, 65535) if "splash_port" in value else 2050
    if port in RESERVED_PORTS:
        raise InvalidPortalArgs(f"splash_port: {port} is reserved (DNS/DHCP/HTTP); use e.g. 2050")
    return port


def _networks(value: Any) -> Tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise InvalidPortalArgs(f"walled_garden: expected a list of at most {MAX_LIST} IPv4 prefixes")
    nets = []
    for item in value:
        try:
            nets.append(ipaddress.IPv4Network(item if isinstance(item, str) else "", strict=False))
        except ValueError:
            raise InvalidPortalArgs(
                f"walled_garden: {item!r} is not an IPv4 prefix like '203.0.113.0/24'"
            ) from None
    return tuple(str(net) for net in ipaddress.collapse_addresses(nets))


def _macs(value: Any, name: str) -> Tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise InvalidPortalArgs(f"{name}: expected a list of at most {MAX_LIST} MAC addresses")
    return tuple(sorted({mac(item, name) for item in value}))


def _ipv6(value: Any) -> str:
    if value not in IPV6_MODES:
        raise InvalidPortalArgs(f"ipv6: only {list(IPV6_MODES)} is supported (IPv6 is not shaped/accounted)")
    return str(value)
