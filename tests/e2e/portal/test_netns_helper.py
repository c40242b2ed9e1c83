"""tests/support/netns.py: namespaces, veth, bridge, routes, entering a namespace, cleanup after failure."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from tests.e2e.portal import probes
from tests.support import wait_until
from tests.support.netns import NETNS_DIR, NetnsError, NetnsLab, entered, popen_in, run_in, stop_process

pytestmark = pytest.mark.e2e

INTERNET_SERVER = Path(__file__).with_name("internet.py")


def _own_netns() -> str:
    return str(Path("/proc/thread-self/ns/net").readlink())


def _connects(src: str, dst: str, addr: str) -> bool:
    """A TCP connection from namespace ``src`` to a listener on ``addr`` in namespace ``dst``."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with entered(dst):
        server = socket.create_server((addr, 0), family=family)
    try:
        with entered(src):
            client = socket.socket(family, socket.SOCK_STREAM)
        client.settimeout(1)
        try:
            client.connect((addr, server.getsockname()[1]))
        except OSError:
            return False
        finally:
            client.close()
        return True
    finally:
        server.close()


def test_two_namespaces_route_through_a_third_and_vanish_on_close() -> None:
    lab = NetnsLab()
    try:
        a, r, b = lab.add("a"), lab.add("r"), lab.add("b")
        lab.veth(a, "eth0", r, "p1")
        lab.veth(r, "p2", b, "eth0")
        lab.bridge(r, "br0", ["p1"])
        lab.address(a, "eth0", "10.77.101.2/24")
        lab.address(r, "br0", "10.77.101.1/24")
        lab.address(r, "p2", "10.77.102.1/24")
        lab.address(b, "eth0", "10.77.102.2/24")
        lab.address(a, "eth0", "fd77:101::2/64")
        lab.address(r, "br0", "fd77:101::1/64")
        lab.route(a, "default", "10.77.101.1")
        lab.route(b, "default", "10.77.102.1")
        lab.sysctl(r, "net.ipv4.ip_forward", "1")

        assert _connects(a, b, "10.77.102.2")  # routed through r
        assert _connects(a, r, "fd77:101::1")
        lab.sysctl(r, "net.ipv4.ip_forward", "0")
        assert not _connects(a, b, "10.77.102.2")  # only r's forwarding carried it
        # Not routed anywhere else: the root namespace has no such address.
        assert run_in(None, ["ip", "-4", "addr", "show"]).stdout.count("10.77.10") == 0
        assert len(lab.mac(a, "eth0").split(":")) == 6
        with pytest.raises(NetnsError, match="exited with"):
            run_in(a, ["ip", "link", "show", "no-such-interface"])
    finally:
        lab.close()
    assert not any((NETNS_DIR / name).exists() for name in (lab.name("a"), lab.name("r"), lab.name("b")))


def test_entered_moves_only_this_thread_and_sockets_stay_in_the_namespace() -> None:
    before = _own_netns()
    with NetnsLab() as lab:
        ns = lab.add("x")
        lab.address(ns, "lo", "10.77.103.1/32")
        with entered(ns):
            inside = _own_netns()
            server = socket.create_server(("10.77.103.1", 0))
        assert inside != before
        assert _own_netns() == before
        port = server.getsockname()[1]
        with pytest.raises(OSError):
            socket.create_connection(("10.77.103.1", port), timeout=1)  # not reachable from the root ns
        with entered(ns):
            client = socket.create_connection(("10.77.103.1", port), timeout=2)
        accepted, _ = server.accept()
        for sock in (client, accepted, server):
            sock.close()


def test_close_kills_processes_left_inside(tmp_path: Path) -> None:
    lab = NetnsLab()
    ns = lab.add("p")
    proc = popen_in(ns, ["sleep", "300"], log_file=tmp_path / "sleep.log")
    wait_until(lambda: proc.pid in lab.pids(ns), timeout=10, message="sleep inside the namespace")
    lab.close()
    assert proc.wait(timeout=10) == -9
    assert not (NETNS_DIR / ns).exists()


def test_internet_server_answers_http_tcp_and_dns(tmp_path: Path) -> None:
    with NetnsLab() as lab:
        net, cli = lab.add("net"), lab.add("cli")
        lab.veth(cli, "eth0", net, "c0")
        lab.address(cli, "eth0", "10.77.104.2/24")
        lab.address(net, "c0", "10.77.104.1/24")
        lab.address(cli, "eth0", "fd77:104::2/64")
        lab.address(net, "c0", "fd77:104::1/64")
        server = popen_in(
            net,
            [
                sys.executable,
                str(INTERNET_SERVER),
                "--dns-addr",
                "10.77.104.1",
                "--dns-answer",
                "10.77.104.1",
            ],
            log_file=tmp_path / "internet.log",
        )
        try:
            wait_until(lambda: probes.tcp_hello(cli, "10.77.104.1"), timeout=20, message="server up")
            assert probes.tcp_hello(cli, "fd77:104::1")
            assert probes.reaches_internet(cli, "10.77.104.1")
            assert probes.probe_is_204(cli, "fd77:104::1")
            assert probes.dns_answers(cli, "10.77.104.1")
            assert not probes.dns_answers(cli, "10.77.104.3", timeout=0.5)  # nobody there
            assert probes.download_rate(cli, "10.77.104.1", seconds=1, warmup=0.2).bytes > 0
            assert probes.upload_rate(cli, "10.77.104.1", seconds=2).bytes > 0
        finally:
            stop_process(server)
