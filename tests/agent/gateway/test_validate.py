"""validate: strict MAC/IPv4/range checks for portal.* arguments and the portal config key."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from station_agent.gateway.errors import InvalidPortalArgs
from station_agent.gateway.validate import parse_allow, parse_config, parse_extend, parse_revoke

from .conftest import CONFIG

ALLOW: Dict[str, Any] = {
    "session_id": "s-1",
    "mac": "02:AA:bb:cc:dd:01",
    "ip": "10.77.1.2",
    "expires_at": 1_800_000_000_000,
    "idle_timeout_s": 300,
    "up_kbps": 1000,
    "down_kbps": 2000,
    "quota_bytes": 0,
}


def test_allow_normalises_mac() -> None:
    args = parse_allow(ALLOW)
    assert (args.mac, args.ip, args.down_kbps) == ("02:aa:bb:cc:dd:01", "10.77.1.2", 2000)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mac": "02:aa:bb:cc:dd"}, "mac: expected a unicast MAC"),
        ({"mac": "02:aa:bb:cc:dd:01; flush ruleset"}, "mac: expected a unicast MAC"),
        ({"mac": "01:00:5e:00:00:01"}, "mac: expected a unicast MAC"),
        ({"mac": 5}, "mac: expected a unicast MAC"),
        ({"ip": "10.77.1.256"}, "ip: expected an IPv4 address"),
        ({"ip": "10.77.1.2 } ; add rule"}, "ip: expected an IPv4 address"),
        ({"ip": "224.0.0.1"}, "ip: 224.0.0.1 is not a client's unicast address"),
        ({"ip": "fe80::1"}, "ip: expected an IPv4 address"),
        ({"up_kbps": -1}, "up_kbps: expected an integer between 0 and"),
        ({"down_kbps": True}, "down_kbps: expected an integer"),
        ({"quota_bytes": 1.5}, "quota_bytes: expected an integer"),
        ({"idle_timeout_s": 10**9}, "idle_timeout_s: expected an integer between 0 and"),
        ({"expires_at": "tomorrow"}, "expires_at: expected an integer"),
        ({"session_id": "a b"}, "session_id: expected 1-64 characters"),
        ({"session_id": "x" * 65}, "session_id: expected 1-64 characters"),
        ({"phone": "13800000000"}, "portal.allow: unknown argument(s) ['phone']"),
    ],
)
def test_allow_rejects_bad_values(change: Dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPortalArgs) as err:
        parse_allow({**ALLOW, **change})
    assert message in str(err.value)


def test_allow_names_missing_arguments() -> None:
    with pytest.raises(InvalidPortalArgs, match=r"missing argument\(s\) \['ip', 'quota_bytes'\]"):
        parse_allow({k: v for k, v in ALLOW.items() if k not in ("ip", "quota_bytes")})


def test_revoke_and_extend() -> None:
    assert parse_revoke({"session_id": "s-1", "mac": "02:AA:BB:CC:DD:01", "reason": "kick"}) == (
        "s-1",
        "02:aa:bb:cc:dd:01",
        "kick",
    )
    assert parse_extend({"session_id": "s-1", "expires_at": 5, "quota_bytes": 0}) == ("s-1", 5, 0)
    with pytest.raises(InvalidPortalArgs, match="missing argument"):
        parse_extend({"session_id": "s-1", "expires_at": 5})
    with pytest.raises(InvalidPortalArgs, match="reason"):
        parse_revoke({"session_id": "s-1", "mac": "02:aa:bb:cc:dd:01", "reason": 7})


def test_config_normalises_lists() -> None:
    cfg = parse_config(
        {**CONFIG, "walled_garden": ["10.0.0.0/8", "10.1.2.3"], "trusted_macs": ["02:AA:BB:CC:DD:01"] * 2}
    )
    assert cfg.walled_garden == ("10.0.0.0/8",)  # collapsed: an interval set refuses overlaps
    assert cfg.trusted_macs == ("02:aa:bb:cc:dd:01",)
    assert parse_config(cfg.to_dict()) == cfg


def test_disabled_config_needs_nothing_else() -> None:
    assert parse_config({"enabled": False}).enabled is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lan_interface": 'br-lan" accept'}, "lan_interface: expected an interface name"),
        ({"gateway_key": "abc"}, "gateway_key: expected 64 hex characters"),
        ({"portal_url": "ftp://x/"}, "portal_url: expected an http(s) URL"),
        ({"portal_url": 'http://x/"onload'}, "portal_url: expected an http(s) URL"),
        ({"splash_port": 80}, "splash_port: 80 is reserved"),
        ({"walled_garden": ["example.com"]}, "walled_garden: 'example.com' is not an IPv4 prefix"),
        ({"blocked_macs": ["zz"]}, "blocked_macs: expected a unicast MAC"),
        ({"ipv6": "allow"}, "ipv6: only ['block'] is supported"),
        ({"enabled": "yes"}, "enabled: expected true or false"),
        ({"colour": "red"}, "unknown key(s) ['colour']"),
    ],
)
def test_config_rejects_bad_values(change: Dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPortalArgs) as err:
        parse_config({**CONFIG, **change})
    assert message in str(err.value)
