"""What a rendered template asks of a router, vendor-neutral and validated: SSID, VLAN, portal, rates."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import IntentInvalid

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,31}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_GATEWAY = re.compile(r"^[a-z0-9-]{1,64}$")
_PATH = re.compile(r"^/[A-Za-z0-9_/-]{0,120}/$")
_SSID_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f'\"\\`$]")


@dataclass(frozen=True)
class Wifi:
    ssid: str
    radio: str = "radio0"


@dataclass(frozen=True)
class Vlan:
    id: int
    name: str
    address: str | None = None  # CIDR of the router's own address on the VLAN, e.g. 10.20.0.1/24

    @property
    def interface(self) -> ipaddress.IPv4Interface | None:
        return ipaddress.IPv4Interface(self.address) if self.address else None


@dataclass(frozen=True)
class Portal:
    """WiFiDog gateway settings: phones are redirected to the controller's /wifidog/ endpoints."""

    gateway_id: str
    host: str
    port: int = 80
    path: str = "/wifidog/"

    @property
    def login_url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}login/"


@dataclass(frozen=True)
class RateLimit:
    up_kbps: int
    down_kbps: int


@dataclass(frozen=True)
class RouterIntent:
    wifi: Wifi
    vlan: Vlan
    portal: Portal | None = None
    rate: RateLimit | None = None


def _section(data: Mapping[str, Any], name: str, *, required: bool) -> Mapping[str, Any] | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, Mapping):
        raise IntentInvalid(f"the rendered config needs a [{name}] table")
    return value


def _int(table: Mapping[str, Any], key: str, low: int, high: int, where: str) -> int:
    value = table.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise IntentInvalid(f"[{where}] {key} must be an integer from {low} to {high}, got {value!r}")
    return value


def _text(table: Mapping[str, Any], key: str, pattern: re.Pattern[str], where: str, default: str = "") -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not pattern.match(value):
        raise IntentInvalid(f"[{where}] {key}={value!r} is not allowed (pattern {pattern.pattern})")
    return value


def _wifi(table: Mapping[str, Any]) -> Wifi:
    ssid = table.get("ssid")
    if not isinstance(ssid, str) or not ssid or len(ssid.encode()) > 32 or _SSID_FORBIDDEN.search(ssid):
        raise IntentInvalid(f"[wifi] ssid={ssid!r}: 1-32 bytes of UTF-8 without quotes or control characters")
    return Wifi(ssid=ssid, radio=_text(table, "radio", _NAME, "wifi", "radio0"))


def _vlan(table: Mapping[str, Any]) -> Vlan:
    address = table.get("address")
    if address is not None:
        try:
            ipaddress.IPv4Interface(str(address))
        except ValueError as exc:
            raise IntentInvalid(f"[vlan] address={address!r} is not an IPv4 CIDR like 10.20.0.1/24") from exc
    return Vlan(
        id=_int(table, "id", 2, 4094, "vlan"),
        name=_text(table, "name", _NAME, "vlan"),
        address=str(address) if address is not None else None,
    )


def _portal(table: Mapping[str, Any]) -> Portal:
    return Portal(
        gateway_id=_text(table, "gateway_id", _GATEWAY, "portal"),
        host=_text(table, "host", _HOST, "portal"),
        port=_int(table, "port", 1, 65535, "portal") if "port" in table else 80,
        path=_text(table, "path", _PATH, "portal", "/wifidog/"),
    )


def intent_from_mapping(data: Mapping[str, Any]) -> RouterIntent:
    """Validate a rendered template (parsed TOML) into a RouterIntent.

    Raises:
        IntentInvalid: a missing table or a value a router CLI could misread; the message names it.
    """
    wifi, vlan = _section(data, "wifi", required=True), _section(data, "vlan", required=True)
    portal, rate = _section(data, "portal", required=False), _section(data, "rate_limit", required=False)
    assert wifi is not None
    assert vlan is not None
    return RouterIntent(
        wifi=_wifi(wifi),
        vlan=_vlan(vlan),
        portal=_portal(portal) if portal is not None else None,
        rate=RateLimit(
            _int(rate, "up_kbps", 8, 10_000_000, "rate_limit"),
            _int(rate, "down_kbps", 8, 10_000_000, "rate_limit"),
        )
        if rate is not None
        else None,
    )
