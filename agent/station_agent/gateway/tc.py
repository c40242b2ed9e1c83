"""The only module that runs ``tc`` and ``ip link``: HTB hard caps per client on the LAN and its IFB.

Download = LAN egress (HTB ``1:`` on the LAN interface, u32 ``ip dst``); upload = LAN ingress mirrored
to an IFB device (HTB ``1:`` there, u32 ``ip src``). Each capped client has class ``1:<id>`` with
rate = ceil (a hard cap: a root-level class never borrows) and a u32 filter with the fixed handle
``800::<id>`` so it can be deleted alone. Class ``1:1`` is the root class for unclassified traffic.
u32 + mirred are used because they exist on every router kernel (flower/matchall often do not).

When the LAN is a bridge (``br-lan``) the ingress redirect sits on each bridge *port*, never on the
bridge itself: redirected from the bridge's own ingress, the splash redirect's SYN-ACK leaves the router
un-NATed and phones reset the connection. Ports come and go (a WiFi interface is re-created by hostapd),
so ``sync_ports`` re-checks them at every enforcement round.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Protocol, Sequence

from ..process import CannotRun, run_tool
from .errors import GatewayError, ToolFailed

log = logging.getLogger(__name__)

MIN_CLASS_ID = 0x10
MAX_CLASS_ID = 0xFFF  # u32 node ids in the default hash table are 12 bits
FILTER_PRIO = "10"


class TcRunner(Protocol):
    def run(self, argv: Sequence[str], *, check: bool = True) -> str:
        """Run ``argv`` (``tc ...`` or ``ip ...``); raises ToolFailed on a non-zero exit when ``check``."""
        ...


class SubprocessTc:
    """Runs the real tools; ``prefix`` (e.g. ``ip netns exec <ns>``) is put in front of every argv."""

    def __init__(self, prefix: Sequence[str] = (), *, timeout_s: float = 15.0) -> None:
        self._prefix = tuple(prefix)
        self._timeout_s = timeout_s

    def run(self, argv: Sequence[str], *, check: bool = True) -> str:
        full = [*self._prefix, *argv]
        try:
            proc = run_tool(full, timeout_s=self._timeout_s)  # argument list built from validated values
        except CannotRun as exc:
            raise GatewayError(f"cannot run {full[0]}: {exc}; is iproute2 installed?") from None
        if proc.returncode != 0 and check:
            raise ToolFailed(full, proc.returncode, proc.stderr)
        return proc.stdout


def _quantum(kbit: int) -> str:
    """Bytes per round: rate/10 clamped to [MTU, 60000] (keeps tc from warning; no sharing here)."""
    return str(max(1514, min(60000, kbit * 1000 // 80)))


def _htb_class(dev: str, class_id: int, kbit: int) -> List[str]:
    rate = f"{kbit}kbit"
    return ["tc", "class", "replace", "dev", dev, "parent", "1:", "classid", f"1:{class_id:x}",
            "htb", "rate", rate, "ceil", rate, "quantum", _quantum(kbit)]  # fmt: skip


def _filter(action: str, dev: str, class_id: int) -> List[str]:
    return ["tc", "filter", action, "dev", dev, "parent", "1:", "protocol", "ip", "prio", FILTER_PRIO,
            "handle", f"800::{class_id:x}", "u32"]  # fmt: skip


def _ingress_redirect(dev: str, ifb: str) -> List[List[str]]:
    """Commands that mirror everything ``dev`` receives to ``ifb`` (upload shaping)."""
    return [
        ["tc", "qdisc", "add", "dev", dev, "handle", "ffff:", "ingress"],
        ["tc", "filter", "add", "dev", dev, "parent", "ffff:", "protocol", "all", "prio", "1",
         "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", ifb],
    ]  # fmt: skip


def _json_list(text: str) -> List[Dict[str, Any]]:
    try:
        data = json.loads(text) if text.strip() else []
    except ValueError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


class Shaper:
    """Per-client HTB classes; ``default_kbit`` is the rate of the unclassified root class."""

    def __init__(self, runner: TcRunner, *, ifb: str, default_kbit: int = 1_000_000) -> None:
        self._run = runner.run
        self.ifb = ifb
        self._default_kbit = default_kbit
        self._bridge = False
        self._ports: Dict[str, int] = {}  # bridge port name → ifindex it had when its redirect was added

    def setup(self, lan: str) -> None:
        """(Re)create the qdiscs from scratch: every client class is gone afterwards."""
        self.teardown(lan)
        self._run(["ip", "link", "add", self.ifb, "type", "ifb"])
        self._run(["ip", "link", "set", self.ifb, "up"])
        for dev in (lan, self.ifb):
            self._run(["tc", "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "1"])
            self._run(_htb_class(dev, 1, self._default_kbit))
        self._bridge = self._is_bridge(lan)
        if self._bridge:
            self.sync_ports(lan)
        else:
            for argv in _ingress_redirect(lan, self.ifb):
                self._run(argv)
        log.info("shaping set up on %s (download) and %s (upload%s)", lan, self.ifb,
                 f" from bridge ports {sorted(self._ports)}" if self._bridge else "")  # fmt: skip

    def _is_bridge(self, lan: str) -> bool:
        links = _json_list(self._run(["ip", "-j", "-d", "link", "show", "dev", lan], check=False))
        return any(link.get("linkinfo", {}).get("info_kind") == "bridge" for link in links)

    def _bridge_ports(self, lan: str) -> Dict[str, int]:
        links = _json_list(self._run(["ip", "-j", "link", "show", "master", lan], check=False))
        return {str(link["ifname"]): int(link.get("ifindex", 0)) for link in links if "ifname" in link}

    def sync_ports(self, lan: str) -> None:
        """Bridged LAN: give new (or re-created) ports the upload redirect, forget ports that left."""
        if not self._bridge:
            return
        ports = self._bridge_ports(lan)
        for name in [n for n in self._ports if n not in ports]:
            self._run(["tc", "qdisc", "del", "dev", name, "ingress"], check=False)  # gone or unbridged
            del self._ports[name]
            log.info("upload shaping: %s left bridge %s", name, lan)
        for name, index in ports.items():
            if self._ports.get(name) == index:
                continue
            self._run(["tc", "qdisc", "del", "dev", name, "ingress"], check=False)
            try:
                for argv in _ingress_redirect(name, self.ifb):
                    self._run(argv)
            except ToolFailed as exc:  # the port vanished meanwhile: the next round tries again
                log.warning("upload shaping: cannot redirect bridge port %s: %s", name, exc)
                continue
            self._ports[name] = index
            log.info("upload shaping: bridge %s port %s redirected to %s", lan, name, self.ifb)

    def teardown(self, lan: str) -> None:
        """Remove everything this module created; missing pieces are fine."""
        self._run(["tc", "qdisc", "del", "dev", lan, "root"], check=False)
        self._run(["tc", "qdisc", "del", "dev", lan, "ingress"], check=False)
        for port in sorted(set(self._ports) | set(self._bridge_ports(lan))):
            self._run(["tc", "qdisc", "del", "dev", port, "ingress"], check=False)
        self._ports = {}
        self._run(["ip", "link", "del", self.ifb], check=False)

    def add_client(self, lan: str, *, class_id: int, ip: str, up_kbps: int, down_kbps: int) -> None:
        """Cap one client (0 kbps = that direction uncapped); replaces an earlier setup of ``class_id``."""
        self.remove_client(lan, class_id=class_id)
        for dev, kbps, side in ((lan, down_kbps, "dst"), (self.ifb, up_kbps, "src")):
            if kbps > 0:
                self._run(_htb_class(dev, class_id, kbps))
                self._run([*_filter("add", dev, class_id), "match", "ip", side, f"{ip}/32",
                           "flowid", f"1:{class_id:x}"])  # fmt: skip

    def remove_client(self, lan: str, *, class_id: int) -> None:
        for dev in (lan, self.ifb):
            self._run(_filter("del", dev, class_id), check=False)
            self._run(["tc", "class", "del", "dev", dev, "classid", f"1:{class_id:x}"], check=False)
