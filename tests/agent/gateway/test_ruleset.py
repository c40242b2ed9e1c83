"""ruleset: the rendered table matches the golden text; element updates are one small batch."""

from __future__ import annotations

from pathlib import Path

from station_agent.gateway.ruleset import (
    Client,
    render_add_clients,
    render_delete,
    render_delete_clients,
    render_table,
)
from station_agent.gateway.validate import PortalConfig

from .conftest import portal_config

GOLDEN = Path(__file__).parent / "golden" / "station_portal.nft"
CLIENTS = [Client("02:00:00:00:00:02", "10.77.1.3"), Client("02:00:00:00:00:01", "10.77.1.2")]


def golden_config() -> PortalConfig:
    return portal_config(
        walled_garden=["203.0.113.10/32", "198.51.100.0/24", "198.51.100.7"],
        trusted_macs=["02:AA:BB:CC:DD:01"],
        blocked_macs=["02:aa:bb:cc:dd:02"],
    )


def test_table_matches_golden_text() -> None:
    assert render_table(golden_config(), CLIENTS) == GOLDEN.read_text(encoding="utf-8")


def test_table_without_clients_or_lists_declares_empty_sets() -> None:
    text = render_table(portal_config(walled_garden=[]), [])
    assert "elements" not in text
    assert text.startswith("table inet station_portal\ndelete table inet station_portal\n")
    assert 'iifname "br-lan" jump from_lan' in text


def test_splash_port_and_lan_interface_come_from_config() -> None:
    text = render_table(portal_config(splash_port=8080, lan_interface="wlan0"), [])
    assert "redirect to :8080" in text
    assert "tcp dport { 53, 8080 } accept" in text
    assert 'iifname "wlan0" ether saddr @blocked_macs drop' in text


def test_add_and_delete_touch_both_counter_sets_only() -> None:
    client = [Client("02:00:00:00:00:01", "10.77.1.2")]
    assert render_add_clients(client) == (
        "add element inet station_portal auth_up { 02:00:00:00:00:01 . 10.77.1.2 }\n"
        "add element inet station_portal auth_down { 10.77.1.2 }\n"
    )
    removal = render_delete_clients(client).splitlines()
    # add-before-delete in one batch: idempotent removal on nft 1.0.6 (no "destroy element").
    assert [line.split()[0] for line in removal] == ["add", "add", "delete", "delete"]
    assert "table" not in "".join(removal).replace("inet station_portal", "")


def test_delete_is_idempotent_batch() -> None:
    assert render_delete() == "table inet station_portal\ndelete table inet station_portal\n"
