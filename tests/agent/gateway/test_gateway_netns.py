"""The gateway on a real kernel: client ↔ router (nft, tc, splash in a namespace) ↔ "internet".

    {p}-cli  c0 10.77.1.2 ── lan0 10.77.1.1  {p}-rtr  wan0 10.77.2.1 ── e0 10.77.2.2  {p}-net (nsprobe serve)

The router runs router_helper.py (the agent's DesiredConfig + gateway + portal handlers). Namespaces
are deleted in the fixture finalizer, also when a test fails.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, Optional
from urllib.parse import parse_qs, urlsplit

import pytest

from station_agent.gateway.signing import sign
from tests.support import wait_until
from tests.support.netns import NetnsLab, ns_argv, popen_in, run_in, stop_process

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
CLIENT_IP, ROUTER_LAN, ROUTER_WAN, INTERNET = "10.77.1.2", "10.77.1.1", "10.77.2.1", "10.77.2.2"
KEY = secrets.token_hex(32)
RATE_KBPS = 2000
TRANSFER = 1_600_000  # ~6 s at 2 Mbit/s
PORTAL: Dict[str, Any] = {
    "enabled": True,
    "lan_interface": "lan0",
    "wan_interface": "wan0",
    "portal_url": "http://portal.example.cn/portal/",
    "gateway_key": KEY,
    "splash_port": 2050,
    "walled_garden": [],
    "ipv6": "block",
}


class Router:
    """router_helper.py inside the router namespace, one JSON line per request."""

    def __init__(self, ns: str, state_dir: Path) -> None:
        argv = ns_argv(ns, [sys.executable, str(HERE / "router_helper.py"), str(state_dir)])
        self.log = (state_dir / "router.log").open("ab")
        self.proc = subprocess.Popen(  # noqa: S603
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            start_new_session=True,
        )
        assert json.loads(self._line()) == {"ready": True}

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"router helper exited ({self.proc.poll()}); see its log"
        return line

    def ask(self, **request: Any) -> Dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer: Dict[str, Any] = json.loads(self._line())
        return answer

    def cmd(self, name: str, **args: Any) -> Dict[str, Any]:
        answer = self.ask(op="cmd", name=name, args=args)
        assert answer["status"] == "ok", answer
        return answer

    def stop(self, *, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self.proc.wait(timeout=30)
        self.log.close()


class Rig:
    def __init__(self, lab: NetnsLab, state_dir: Path) -> None:
        self.lab, self.state_dir = lab, state_dir
        self.cli, self.rtr, self.net = lab.add("cli"), lab.add("rtr"), lab.add("net")
        lab.veth(self.cli, "c0", self.rtr, "lan0")
        lab.veth(self.rtr, "wan0", self.net, "e0")
        lab.address(self.cli, "c0", f"{CLIENT_IP}/24")
        lab.address(self.rtr, "lan0", f"{ROUTER_LAN}/24")
        lab.address(self.rtr, "wan0", f"{ROUTER_WAN}/24")
        lab.address(self.net, "e0", f"{INTERNET}/24")
        lab.route(self.cli, "default", ROUTER_LAN)
        lab.route(self.net, "10.77.1.0/24", ROUTER_WAN)
        lab.sysctl(self.rtr, "net.ipv4.ip_forward", "1")
        self.client_mac = lab.mac(self.cli, "c0")
        self.internet = popen_in(self.net, [sys.executable, str(HERE / "nsprobe.py"), "serve"],
                                 log_file=state_dir / "internet.log")  # fmt: skip
        wait_until(
            lambda: self.probe("tcp", INTERNET, "7000")["ok"], timeout=30, message="internet server up"
        )
        self.router: Optional[Router] = None

    def start_router(self) -> Router:
        self.router = Router(self.rtr, self.state_dir)
        return self.router

    def probe(self, kind: str, host: str, arg: str) -> Dict[str, Any]:
        out = run_in(self.cli, [sys.executable, str(HERE / "nsprobe.py"), kind, host, arg], timeout=60)
        result: Dict[str, Any] = json.loads(out.stdout)
        return result

    def allow(self, session_id: str = "s-1") -> Dict[str, Any]:
        assert self.router is not None
        return self.router.cmd(
            "portal.allow", session_id=session_id, mac=self.client_mac, ip=CLIENT_IP,
            expires_at=int(time.time() * 1000) + 3600_000, idle_timeout_s=0,
            up_kbps=RATE_KBPS, down_kbps=RATE_KBPS, quota_bytes=0,
        )  # fmt: skip

    def close(self) -> None:
        if self.router is not None and self.router.proc.poll() is None:
            self.router.stop(kill=True)
        stop_process(self.internet)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    lab = NetnsLab(f"sfgw-{secrets.token_hex(3)}")
    try:
        built = Rig(lab, tmp_path_factory.mktemp("gateway-netns"))
        try:
            router = built.start_router()
            config = {"portal": PORTAL}
            assert router.ask(op="config", version=1, config=config) == {"status": "applied", "error": None}
            yield built
        finally:
            built.close()
    finally:
        lab.close()  # kills what still runs in the namespaces and deletes them


def test_unauthenticated_client_is_captive(rig: Rig) -> None:
    page = rig.probe("http", INTERNET, "/some/page?x=1")
    assert page["status"] == 302
    location = urlsplit(page["location"])
    assert page["location"].startswith("http://portal.example.cn/portal/?gw=rt-netns&")
    q = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert (q["mac"], q["ip"], q["url"]) == (rig.client_mac, CLIENT_IP, f"http://{INTERNET}/some/page?x=1")
    assert q["sig"] == sign(KEY, gw="rt-netns", mac=q["mac"], ip=q["ip"], ts=int(q["ts"]), url=q["url"])
    assert rig.probe("tcp", INTERNET, "7000") == {"ok": False, "error": "ConnectionRefusedError"}
    assert rig.probe("udp", INTERNET, "53")["ok"] is False  # DNS past the router does not pass
    api = rig.probe("http", ROUTER_LAN, "/captive-portal/api")  # port 80 of the router is redirected too
    assert json.loads(api["body"])["captive"] is True


def test_allowed_client_passes_at_the_capped_rate_until_revoked(rig: Rig) -> None:
    assert rig.router is not None
    rig.allow()
    assert rig.probe("http", INTERNET, "/")["body"] == "internet-ok\n"
    assert rig.probe("tcp", INTERNET, "7000") == {"ok": True, "data": "hello\n"}
    assert rig.probe("udp", INTERNET, "53")["ok"] is True
    down = rig.probe("download", INTERNET, str(TRANSFER))
    up = rig.probe("upload", INTERNET, str(TRANSFER))
    rates = {name: m["bytes"] * 8 / m["seconds"] / 1000 for name, m in (("down", down), ("up", up))}
    print(f"measured kbit/s with a {RATE_KBPS} kbit/s cap: {rates}")  # noqa: T201 - the figure for the report
    for name, kbps in rates.items():
        assert 0.85 * RATE_KBPS <= kbps <= 1.15 * RATE_KBPS, f"{name} {kbps:.0f} kbit/s"
    (session,) = rig.router.cmd("portal.sessions")["output"]["sessions"]
    assert session["bytes_down"] > TRANSFER
    assert session["bytes_up"] > TRANSFER
    rig.router.cmd("portal.revoke", session_id="s-1", mac=rig.client_mac, reason="test")
    assert rig.probe("tcp", INTERNET, "7000") == {"ok": False, "error": "ConnectionRefusedError"}
    assert rig.probe("http", INTERNET, "/")["status"] == 302


def test_session_survives_agent_restart_and_reboot(rig: Rig) -> None:
    assert rig.router is not None
    rig.allow("s-2")
    assert rig.probe("tcp", INTERNET, "7000")["ok"] is True
    rig.router.stop(kill=True)  # agent killed: kernel state stays, clients stay online
    assert rig.probe("tcp", INTERNET, "7000")["ok"] is True
    router = rig.start_router()
    assert rig.probe("tcp", INTERNET, "7000")["ok"] is True
    router.stop(kill=True)
    reboot = [
        ["nft", "delete", "table", "inet", "station_portal"],
        ["tc", "qdisc", "del", "dev", "lan0", "root"],
        ["tc", "qdisc", "del", "dev", "lan0", "ingress"],
        ["ip", "link", "del", "sfifb0"],
    ]
    for argv in reboot:
        run_in(rig.rtr, argv)  # "reboot": the kernel forgot everything
    assert rig.probe("tcp", INTERNET, "7000")["ok"] is True  # no table at all: nothing is captive
    router = rig.start_router()  # rebuilt from state.db by DesiredConfig.restore()
    assert rig.probe("tcp", INTERNET, "7000")["ok"] is True
    assert f"rate {RATE_KBPS // 1000}Mbit" in run_in(rig.rtr, ["tc", "class", "show", "dev", "lan0"]).stdout
    router.cmd("portal.revoke", session_id="s-2", mac=rig.client_mac, reason="test")
    assert rig.probe("tcp", INTERNET, "7000")["ok"] is False
