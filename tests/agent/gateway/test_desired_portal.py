"""desired config ``portal`` key: validated whole, applied before it is stored, rejected on failure."""

from __future__ import annotations

from station_agent.desired_config import DesiredConfig
from station_agent.gateway.build import GatewayPortal
from station_agent.gateway.gateway import Gateway
from station_agent.outbox import Outbox
from station_agent.state import StateStore
from station_agent.tunables import Tunables
from station_protocol import ConfigDesired

from .conftest import CONFIG, DEVICE, make_gateway
from .fakes import FakeClock, FakeNft, FakeTc


def desired(store: StateStore, outbox: Outbox, tunables: Tunables, gateway: Gateway) -> DesiredConfig:
    return DesiredConfig(
        device_id=DEVICE, store=store, outbox=outbox, tunables=tunables, portal=GatewayPortal(gateway)
    )


def test_stb_refuses_portal(store: StateStore, outbox: Outbox, tunables: Tunables) -> None:
    stb = DesiredConfig(device_id=DEVICE, store=store, outbox=outbox, tunables=tunables)
    report = stb.offer(ConfigDesired(version=1, config={"portal": CONFIG}))
    assert report.status == "rejected"
    assert "not a router" in str(report.error)


def test_router_checks_the_whole_portal_object_before_applying(
    store: StateStore, outbox: Outbox, tunables: Tunables, nft: FakeNft, tc: FakeTc, clock: FakeClock
) -> None:
    dc = desired(store, outbox, tunables, make_gateway(store, outbox, nft, tc, clock))
    report = dc.offer(ConfigDesired(version=1, config={"portal": {"enabled": True}}))
    assert (report.status, dc.applied_version) == ("rejected", 0)
    assert "portal: missing key(s) ['lan_interface'" in str(report.error)
    assert not nft.loaded


def test_enable_change_and_disable(
    store: StateStore, outbox: Outbox, tunables: Tunables, nft: FakeNft, tc: FakeTc, clock: FakeClock
) -> None:
    gw = make_gateway(store, outbox, nft, tc, clock)
    dc = desired(store, outbox, tunables, gw)
    assert dc.offer(ConfigDesired(version=1, config={"portal": CONFIG})).status == "applied"
    assert nft.loaded
    assert gw.config is not None
    loads = len(nft.scripts)
    assert (
        dc.offer(ConfigDesired(version=2, config={"portal": CONFIG, "log_level": "INFO"})).status == "applied"
    )
    assert len(nft.scripts) == loads  # portal unchanged: no reload
    assert (
        dc.offer(ConfigDesired(version=3, config={"portal": {**CONFIG, "splash_port": 8080}})).status
        == "applied"
    )
    assert "redirect to :8080" in nft.scripts[-1]
    assert dc.offer(ConfigDesired(version=4, config={})).status == "applied"
    assert not nft.loaded
    assert gw.config is None


def test_failed_apply_is_rejected_and_keeps_the_old_setup(
    store: StateStore, outbox: Outbox, tunables: Tunables, nft: FakeNft, tc: FakeTc, clock: FakeClock
) -> None:
    gw = make_gateway(store, outbox, nft, tc, clock)
    dc = desired(store, outbox, tunables, gw)
    dc.offer(ConfigDesired(version=1, config={"portal": CONFIG}))
    nft.fail_next = "Error: Could not process rule: No buffer space available"
    report = dc.offer(ConfigDesired(version=2, config={"portal": {**CONFIG, "splash_port": 8080}}))
    assert report.status == "rejected"
    assert "No buffer space" in str(report.error)
    assert dc.applied_version == 1
    assert gw.config is not None
    assert gw.config.splash_port == 2050


def test_restore_rebuilds_after_restart(
    store: StateStore, outbox: Outbox, tunables: Tunables, clock: FakeClock
) -> None:
    first = make_gateway(store, outbox, FakeNft(), FakeTc(), clock)
    desired(store, outbox, tunables, first).offer(ConfigDesired(version=1, config={"portal": CONFIG}))
    nft = FakeNft()
    second = make_gateway(store, outbox, nft, FakeTc(), clock)
    desired(store, outbox, tunables, second).restore()
    assert nft.loaded
    assert second.config is not None
