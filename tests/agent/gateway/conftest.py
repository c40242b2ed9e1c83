"""Gateway unit-test fixtures: a Gateway on fake nft/tc runners, a real state.db and outbox."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from station_agent.gateway.gateway import Gateway
from station_agent.gateway.nft import Firewall
from station_agent.gateway.tc import Shaper
from station_agent.gateway.validate import PortalConfig, parse_config
from station_agent.outbox import Outbox
from station_agent.state import StateStore

from .fakes import FakeClock, FakeNft, FakeTc

DEVICE = "rt-0001"
KEY = "0f" * 32
CONFIG: Dict[str, Any] = {
    "enabled": True,
    "lan_interface": "br-lan",
    "wan_interface": "eth0",
    "portal_url": "http://portal.example.cn/portal/",
    "gateway_key": KEY,
    "splash_port": 2050,
    "walled_garden": ["203.0.113.10/32"],
    "trusted_macs": [],
    "blocked_macs": [],
    "ipv6": "block",
}


def portal_config(**changes: Any) -> PortalConfig:
    return parse_config({**CONFIG, **changes})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def nft() -> FakeNft:
    return FakeNft()


@pytest.fixture
def tc() -> FakeTc:
    return FakeTc()


def make_gateway(store: StateStore, outbox: Outbox, nft: FakeNft, tc: FakeTc, clock: FakeClock) -> Gateway:
    return Gateway(
        device_id=DEVICE,
        store=store,
        outbox=outbox,
        firewall=Firewall(nft),
        shaper=Shaper(tc, ifb="sfifb0", default_kbit=100000),
        clock=clock,
    )


@pytest.fixture
def gateway(store: StateStore, outbox: Outbox, nft: FakeNft, tc: FakeTc, clock: FakeClock) -> Gateway:
    gw = make_gateway(store, outbox, nft, tc, clock)
    gw.apply_config(portal_config())
    return gw


def events(outbox: Outbox, name: str) -> List[Dict[str, Any]]:
    """Details of the queued events called ``name``, oldest first."""
    found = []
    for row in outbox.peek(10000):
        body = json.loads(row.payload)["body"]
        if row.kind == "event" and body["name"] == name:
            found.append(body["detail"])
    return found
