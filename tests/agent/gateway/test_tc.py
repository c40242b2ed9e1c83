"""tc.py on a fake runner: where the upload redirect goes on a plain and on a bridged LAN."""

from __future__ import annotations

from station_agent.gateway.gateway import Gateway
from station_agent.gateway.tc import Shaper

from .conftest import portal_config
from .fakes import FakeTc

IFB = "sfifb0"


def shaper(tc: FakeTc) -> Shaper:
    return Shaper(tc, ifb=IFB, default_kbit=100000)


def redirect_target(tc: FakeTc, dev: str) -> str:
    (argv,) = [a for a in tc.calls if a[:5] == ["tc", "filter", "add", "dev", dev] and "mirred" in a]
    return argv[-1]


def test_plain_lan_redirects_its_own_ingress() -> None:
    tc = FakeTc()
    shaper(tc).setup("lan0")
    assert tc.ingress_devices() == ["lan0"]
    assert redirect_target(tc, "lan0") == IFB


def test_bridge_redirects_its_ports_never_itself() -> None:
    tc = FakeTc()
    tc.bridges["br-lan"] = {"eth1": 3, "wlan0": 7}
    shaper(tc).setup("br-lan")
    assert tc.ingress_devices() == ["eth1", "wlan0"]
    assert redirect_target(tc, "wlan0") == IFB
    # download shaping stays on the bridge itself (its egress is the routed traffic to the phones)
    assert ["tc", "qdisc", "add", "dev", "br-lan", "root", "handle", "1:", "htb", "default", "1"] in tc.calls


def test_sync_ports_follows_added_recreated_and_removed_ports() -> None:
    tc = FakeTc()
    tc.bridges["br-lan"] = {"eth1": 3}
    s = shaper(tc)
    s.setup("br-lan")
    tc.bridges["br-lan"] = {"eth1": 3, "wlan0": 9}  # WiFi came up after the config was applied
    s.sync_ports("br-lan")
    assert tc.ingress_devices() == ["eth1", "wlan0"]
    calls = len(tc.calls)
    s.sync_ports("br-lan")  # nothing changed: only the listing runs
    assert [a[:2] for a in tc.calls[calls:]] == [["ip", "-j"]]
    tc.bridges["br-lan"] = {"eth1": 3, "wlan0": 12}  # hostapd re-created wlan0 (new ifindex, no qdisc)
    s.sync_ports("br-lan")
    assert tc.calls[-2][:5] == ["tc", "qdisc", "add", "dev", "wlan0"]  # redirected anew
    tc.bridges["br-lan"] = {"wlan0": 12}  # eth1 left the bridge: its redirect goes
    s.sync_ports("br-lan")
    assert tc.ingress_devices() == ["wlan0"]


def test_a_port_that_cannot_be_shaped_now_is_retried_next_round() -> None:
    tc = FakeTc()
    tc.bridges["br-lan"] = {"eth1": 3, "wlan0": 9}
    tc.fail_dev = "wlan0"
    s = shaper(tc)
    s.setup("br-lan")
    assert tc.ingress_devices() == ["eth1"]
    tc.fail_dev = None
    s.sync_ports("br-lan")
    assert tc.ingress_devices() == ["eth1", "wlan0"]


def test_teardown_removes_port_redirects_and_the_ifb() -> None:
    tc = FakeTc()
    tc.bridges["br-lan"] = {"eth1": 3, "wlan0": 9}
    s = shaper(tc)
    s.setup("br-lan")
    s.teardown("br-lan")
    assert tc.ingress_devices() == []
    assert tc.calls[-1] == ["ip", "link", "del", IFB]


def test_enforcement_round_shapes_a_new_bridge_port(gateway: Gateway, tc: FakeTc) -> None:
    tc.bridges["br-lan"] = {"eth1": 3}
    gateway.apply_config(portal_config(splash_port=2051))  # re-applied with the bridge present
    assert tc.ingress_devices() == ["eth1"]
    tc.bridges["br-lan"]["wlan0"] = 8
    gateway.enforce()
    assert tc.ingress_devices() == ["eth1", "wlan0"]
