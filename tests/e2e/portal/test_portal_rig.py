"""The rig itself: without the portal everything passes, so the portal tests' "blocked" can fail."""

from __future__ import annotations

import pytest

from tests.e2e.portal import probes
from tests.e2e.portal.topology import INTERNET, INTERNET_V6, RESOLVER, PortalRig

pytestmark = pytest.mark.e2e


def test_without_the_portal_a_phone_reaches_everything(portal_rig: PortalRig) -> None:
    rig = portal_rig
    assert rig.device()["role"] == "router"
    for phone in ("cli1", "cli2"):
        ns = rig.ns[phone]
        assert probes.tcp_hello(ns, INTERNET)
        assert probes.tcp_hello(ns, INTERNET_V6)
        assert probes.dns_answers(ns, RESOLVER)
        assert probes.probe_is_204(ns, INTERNET)
        assert probes.reaches_internet(ns, INTERNET)
