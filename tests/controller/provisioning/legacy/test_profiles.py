"""Each vendor profile's command rendering, merge/verify/restore logic, and output parsing (ntc-templates)."""

from __future__ import annotations

import pytest

from station_controller.provisioning.legacy.errors import IntentInvalid, UnknownProfile
from station_controller.provisioning.legacy.profiles import PROFILES, get_profile, intent_from_mapping
from station_controller.provisioning.legacy.profiles.intent import RouterIntent
from station_controller.provisioning.legacy.profiles.linux import parse_uci

RENDERED = {
    "wifi": {"ssid": "王庄村 Free WiFi"},
    "vlan": {"id": 20, "name": "sf-guest", "address": "10.20.0.1/24"},
    "portal": {"gateway_id": "router-wz01", "host": "ctrl.example.cn", "port": 8080},
    "rate_limit": {"up_kbps": 2048, "down_kbps": 8192},
}
LOGIN_URL = "http://ctrl.example.cn:8080/wifidog/login/?gw_id=router-wz01"


@pytest.fixture
def intent() -> RouterIntent:
    return intent_from_mapping(RENDERED)


def test_huawei_renders_vlanif_wlan_profiles_portal_and_rate_limits(intent: RouterIntent) -> None:
    lines = get_profile("huawei").apply_lines(intent)
    assert lines[:3] == ["vlan 20", "description sf-guest", "quit"]
    assert lines[3:6] == ["interface Vlanif20", "ip address 10.20.0.1 255.255.255.0", "quit"]
    assert ["url-template name sf-portal", f"url {LOGIN_URL}", "quit"] == lines[6:9]
    wlan = lines[lines.index("wlan") :]
    assert wlan[:4] == [
        "wlan",
        "traffic-profile name sf-rate",
        "rate-limit client up 2048",
        "rate-limit client down 8192",
    ]
    assert "ssid 王庄村 Free WiFi" in wlan
    assert "service-vlan vlan-id 20" in wlan
    assert wlan[-2:] == ["quit", "quit"]  # leave the VAP profile view, then the WLAN view
    assert get_profile("huawei").show_running == "display current-configuration"


def test_comware_renders_service_template_and_portal_on_the_vlan_interface(intent: RouterIntent) -> None:
    lines = get_profile("hp_comware").apply_lines(intent)
    assert lines[:3] == ["vlan 20", "name sf-guest", "quit"]
    svi = lines[lines.index("interface Vlan-interface20") :][:5]
    assert svi == [
        "interface Vlan-interface20",
        "ip address 10.20.0.1 255.255.255.0",
        "portal enable method direct",
        "portal apply web-server sf-portal",
        "quit",
    ]
    template = lines[lines.index("wlan service-template sf-guest") :]
    assert template[1:3] == ["ssid 王庄村 Free WiFi", "vlan 20"]
    assert "client-rate-limit direction outbound mode static cir 8192" in template
    assert template[-2:] == ["service-template enable", "quit"]
    assert f"url {LOGIN_URL}" in lines


def test_ruijie_renders_web_auth_wlan_config_and_per_user_qos(intent: RouterIntent) -> None:
    lines = get_profile("ruijie_os").apply_lines(intent)
    assert lines[:3] == ["vlan 20", "name sf-guest", "exit"]
    assert ["web-auth template sf-portal", f"url {LOGIN_URL}", "exit"] == lines[3:6]
    assert lines[6:10] == [
        "interface VLAN 20",
        "ip address 10.20.0.1 255.255.255.0",
        "web-auth enable sf-portal",
        "exit",
    ]
    assert lines[10:13] == ["wlan-config 1 王庄村 Free WiFi", "vlan 20", "exit"]
    assert lines[-1] == "wlan-qos wlan-based 1 per-user-limit down-streams average-data-rate 8192"
    assert get_profile("ruijie_os").show_running == "show running-config"


def test_linux_renders_quoted_uci_sets_then_commit(intent: RouterIntent) -> None:
    profile = get_profile("linux")
    lines = profile.apply_lines(intent)
    assert "uci set 'wireless.sf_guest.ssid=王庄村 Free WiFi'" in lines
    assert "uci set wifidog.sf_guest.auth_server_path=/wifidog/" in lines
    assert "uci set sqm.sf_guest.upload=2048" in lines
    assert lines.index("uci set wireless.sf_guest=wifi-iface") < lines.index(
        "uci set wireless.sf_guest.mode=ap"
    )
    assert profile.save_lines() == ["uci commit", "reload_config"]
    assert profile.config_mode is False


def test_linux_values_cannot_break_out_of_the_shell() -> None:
    hostile = intent_from_mapping({**RENDERED, "wifi": {"ssid": "a;reboot"}})
    assert "uci set 'wireless.sf_guest.ssid=a;reboot'" in get_profile("linux").apply_lines(hostile)


@pytest.mark.parametrize("ssid", ["", "x" * 33, "it's", "a\nb", "$(reboot)", "`id`"])
def test_unsafe_or_invalid_ssids_are_refused(ssid: str) -> None:
    with pytest.raises(IntentInvalid, match="ssid"):
        intent_from_mapping({**RENDERED, "wifi": {"ssid": ssid}})


@pytest.mark.parametrize(
    ("table", "value"),
    [
        ("vlan", {"id": 1, "name": "x"}),
        ("vlan", {"id": 20, "name": "a b"}),
        ("vlan", {"id": 20, "name": "x", "address": "10.1.1.1/40"}),
        ("portal", {"gateway_id": "r", "host": "evil host"}),
        ("portal", {"gateway_id": "r", "host": "h", "path": "/x"}),
        ("rate_limit", {"up_kbps": 0, "down_kbps": 10}),
    ],
)
def test_invalid_intent_values_name_the_table(table: str, value: dict[str, object]) -> None:
    with pytest.raises(IntentInvalid, match=rf"\[{table}\]"):
        intent_from_mapping({**RENDERED, table: value})


HUAWEI_RUNNING = """!Software Version V300R019C10SPC200
!Last configuration was updated at 2026-11-20 08:00:00+08:00
#
 sysname WangZhuang-AR
#
vlan 20
 description old-guest
#
wlan
 ssid-profile name sf-ssid
  ssid OldName
 ssid-profile name default
  ssid HUAWEI-1
#
return
"""


@pytest.mark.parametrize("name", ["huawei", "hp_comware", "ruijie_os"])
def test_vendor_merge_verify_and_restore_round_trip(name: str, intent: RouterIntent) -> None:
    profile = get_profile(name)
    running = HUAWEI_RUNNING if name == "huawei" else "sysname GW\nvlan 20\n name old\n"
    expected = profile.expected(running, intent)
    assert profile.missing(running, intent)
    assert profile.missing(expected, intent) == []  # pushing again would change nothing
    assert profile.expected(expected, intent) == expected
    restore = profile.restore_lines(running, expected)
    undo = "no" if name == "ruijie_os" else "undo"
    assert any(line.startswith(f"{undo} ") for line in restore)
    assert profile.restore_lines(expected, expected) == []


def test_huawei_normalise_drops_volatile_comment_lines() -> None:
    profile = get_profile("huawei")
    later = HUAWEI_RUNNING.replace("2026-11-20 08:00:00", "2026-11-21 09:30:00")
    assert profile.normalise(later) == profile.normalise(HUAWEI_RUNNING)
    assert "Last configuration" not in profile.normalise(HUAWEI_RUNNING)


def test_huawei_restore_undoes_added_views_newest_first(intent: RouterIntent) -> None:
    profile = get_profile("huawei")
    restore = profile.restore_lines(HUAWEI_RUNNING, profile.expected(HUAWEI_RUNNING, intent))
    assert restore.index("undo vap-profile name sf-vap") < restore.index("undo traffic-profile name sf-rate")
    assert restore[restore.index("ssid-profile name sf-ssid") :][:3] == [
        "ssid-profile name sf-ssid",
        "ssid OldName",
        "quit",
    ]
    assert "description old-guest" in restore


def test_comware_and_ruijie_ignore_their_volatile_header_lines() -> None:
    comware = get_profile("hp_comware")
    assert (
        comware.normalise(" version 7.1.064, Release 0821P16\n#\nvlan 20\n name g\n") == "vlan 20\n name g\n"
    )
    ruijie = get_profile("ruijie_os")
    raw = (
        "Building configuration...\nCurrent configuration : 1234 bytes\n!\nversion RGOS 11.9\n"
        "vlan 20\n name g\n!\nend\n"
    )
    assert ruijie.normalise(raw) == "vlan 20\n name g\n"


HUAWEI_VLAN_BRIEF = """U: Up;         D: Down;         TG: Tagged;         UT: Untagged;
MP: Vlan-mapping;               ST: Vlan-stacking;
#: ProtocolTransparent-vlan;    *: Management-vlan;
--------------------------------------------------------------------------------

VID  Type    Ports
--------------------------------------------------------------------------------
1    common  UT:GE0/0/1(U)     GE0/0/2(D)
20   common  TG:GE0/0/1(U)
"""
COMWARE_VLAN_BRIEF = """Brief information about all VLANs:
Supported Minimum VLAN ID: 1
Supported Maximum VLAN ID: 4094
Default VLAN ID: 1
VLAN ID   Name                             Port
1         VLAN_0001                        GE1/0/1 GE1/0/2
20        sf_guest                         GE1/0/3
"""
RUIJIE_SHOW_VLAN = """VLAN Name                             Status    Ports
---------- -------------------------------- --------- -----------------------------------
   1 VLAN0001                         STATIC    Gi0/1, Gi0/2
  20 sf-guest                         STATIC    Gi0/3
"""


@pytest.mark.parametrize(
    ("name", "output"),
    [("huawei", HUAWEI_VLAN_BRIEF), ("hp_comware", COMWARE_VLAN_BRIEF), ("ruijie_os", RUIJIE_SHOW_VLAN)],
)
def test_vlan_checks_parse_show_vlan_with_textfsm(name: str, output: str, intent: RouterIntent) -> None:
    (check,) = get_profile(name).checks(intent)
    assert check.problem(output) is None
    other = intent_from_mapping({**RENDERED, "vlan": {"id": 30, "name": "x"}})
    (missing,) = get_profile(name).checks(other)
    assert missing.problem(output) == f"VLAN 30 is missing from `{missing.command}`"


def test_huawei_facts_come_from_ntc_display_version() -> None:
    output = """Huawei Versatile Routing Platform Software
VRP (R) software, Version 5.160 (AR2200 V200R010C10SPC700)
Copyright (C) 2011-2019 HUAWEI TECH CO., LTD
Huawei AR2220E Router uptime is 10 days, 2 hours, 3 minutes
"""
    facts = get_profile("huawei").parse_facts({"display version": output})
    assert facts["vendor"] == "huawei"
    assert facts["vrp_version"] == "5.160"
    assert facts["model"] == "AR2220E"


def test_linux_facts_come_from_ntc_ip_link_show() -> None:
    output = (
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default"
        " qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
        "2: br-lan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group"
        " default qlen 1000\n    link/ether 64:64:4a:12:34:56 brd ff:ff:ff:ff:ff:ff\n"
    )
    facts = get_profile("linux").parse_facts({"ip link show": output})
    assert facts["interfaces"] == {"lo": "00:00:00:00:00:00", "br-lan": "64:64:4a:12:34:56"}


def test_uci_show_parsing_and_linux_restore() -> None:
    profile = get_profile("linux")
    backup = "system.a=system\nsystem.a.hostname='GW'\nwireless.x=wifi-iface\nwireless.x.ssid='Old Name'\n"
    running = profile.expected(backup, intent_from_mapping(RENDERED))
    assert parse_uci(backup)["wireless.x.ssid"] == "Old Name"
    restore = profile.restore_lines(backup, running)
    assert "uci delete wireless.sf_guest" in restore
    assert not any(
        line.startswith("uci delete wireless.sf_guest.") for line in restore
    )  # the section goes whole


def test_every_required_profile_exists_and_unknown_ones_are_named() -> None:
    assert set(PROFILES) == {"linux", "huawei", "hp_comware", "ruijie_os"}
    with pytest.raises(UnknownProfile, match="hp_comware, huawei, linux, ruijie_os"):
        get_profile("cisco_ios")
