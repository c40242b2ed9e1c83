"""The portal on a bridged LAN (the router's own ``br-lan`` with the phones on its ports).

Regression test: upload shaping once mirrored *br-lan* ingress to the IFB device; with that filter on the
bridge itself the splash redirect's SYN-ACK left the router un-NATed (source 10.77.1.1:2050), the phone
answered RST and no HTTP request was ever redirected. The gateway now redirects the bridge *ports*.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.portal import flows, probes
from tests.e2e.portal.topology import INTERNET, PortalRig, start_rig
from tests.support import wait_until
from tests.support.netns import run_in

pytestmark = pytest.mark.e2e

RATE_TOLERANCE = 0.15


@pytest.fixture(scope="module")
def bridged_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalRig]:
    rig = start_rig(tmp_path_factory.mktemp("portal-br-lan"), lan_bridge_on_router=True)
    try:
        yield rig
    finally:
        rig.close()


def _redirected(ns: str) -> bool:
    reply = probes.http_get(ns, flows.LANDING)
    return reply is not None and reply.is_redirect


def test_phone_on_br_lan_is_redirected_and_logs_in(bridged_rig: PortalRig) -> None:
    rig = bridged_rig
    flows.enable_portal(rig)
    wait_until(lambda: flows.nft_table(rig), timeout=30, message="table inet station_portal loaded")
    wait_until(
        lambda: _redirected(rig.ns["cli1"]),
        timeout=30,
        message=f"cli1 on br-lan redirected by the splash responder\n{rig.log_tail('agent')}",
    )
    assert not probes.tcp_hello(rig.ns["cli1"], INTERNET), "direct TCP passed before login"
    ingress = run_in(rig.ns["rtr"], ["tc", "qdisc", "show", "dev", "br-lan", "ingress"]).stdout
    assert "ingress" not in ingress, f"upload redirect on the bridge itself: {ingress}"
    flows.sms_login(rig, "cli1", "13800138009")
    flows.wait_online(rig, "cli1")
    assert probes.probe_is_204(rig.ns["cli1"], INTERNET)


def test_br_lan_caps_both_directions(bridged_rig: PortalRig) -> None:
    ns, cap = bridged_rig.ns["cli1"], flows.RATE_KBPS / 1000
    down = probes.download_rate(ns, INTERNET, seconds=8, warmup=2)
    up = probes.upload_rate(ns, INTERNET, seconds=10)
    flows.record_figure("br_lan_download_mbit_s", round(down.mbit_s, 3))
    flows.record_figure("br_lan_upload_mbit_s", round(up.mbit_s, 3))
    assert abs(down.mbit_s - cap) <= RATE_TOLERANCE * cap, f"download {down.mbit_s:.3f} Mbit/s"
    assert abs(up.mbit_s - cap) <= RATE_TOLERANCE * cap, f"upload {up.mbit_s:.3f} Mbit/s"


def test_second_phone_on_br_lan_is_captive_then_capped(bridged_rig: PortalRig) -> None:
    rig = bridged_rig
    wait_until(lambda: _redirected(rig.ns["cli2"]), timeout=30, message="cli2 on br-lan redirected")
    flows.sms_login(rig, "cli2", "13800138010")
    flows.wait_online(rig, "cli2")
    up = probes.upload_rate(rig.ns["cli2"], INTERNET, seconds=8)
    cap = flows.RATE_KBPS / 1000
    assert abs(up.mbit_s - cap) <= RATE_TOLERANCE * cap, f"upload {up.mbit_s:.3f} Mbit/s"
