"""Captive-portal rig: phones ↔ router (real agent, nftables, tc) ↔ centre (broker, TSDB, controller) ↔ net.

    cli1 10.77.1.11 ─┐ ap    ┌ rtr                ┌─ 10.77.3.1 c0 ── eth0 10.77.3.2  ctl: Mosquitto :1883,
    cli2 10.77.1.12 ─┴ br0 ─── lan0 10.77.1.1      │  net                         VictoriaMetrics :8428,
                               wan0 10.77.2.2 ──── up0 10.77.2.1 (routes)       controller :8080
                               (NAT)               lo 10.77.9.9 (HTTP/TCP test server), 10.77.9.53 (DNS)

IPv6 (fd77:1::/64 LAN, fd77:2::/64 WAN, fd77:9::9 server) is routed without NAT, so only the gateway can
stop it. Only namespaces are used; the root namespace gets no interface and no route.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from station_controller.broker import BrokerAccount, hash_password
from station_controller.devstack import MosquittoService, VictoriaService
from station_controller.devstack.processes import ManagedProcess, http_ok, run_tool
from tests.support import wait_until
from tests.support.netns import NetnsLab, entered, ns_argv, ns_http_client, run_in

log = logging.getLogger(__name__)
T = TypeVar("T")

PHONES = {"cli1": ("10.77.1.11", "fd77:1::11"), "cli2": ("10.77.1.12", "fd77:1::12")}
ROUTER_LAN = ("10.77.1.1", "fd77:1::1")
ROUTER_WAN = ("10.77.2.2", "fd77:2::2")
NET_UPLINK = ("10.77.2.1", "fd77:2::1")
NET_CENTRE = "10.77.3.1"
CENTRE = "10.77.3.2"
INTERNET = "10.77.9.9"
INTERNET_V6 = "fd77:9::9"
RESOLVER = "10.77.9.53"
LAN_IF, WAN_IF = "lan0", "wan0"
HTTP_PORT, MQTT_PORT, TSDB_PORT = 8080, 1883, 8428
STATION_CODE = "sfp-0001"
REGION = "河南省/南阳市/唐河县/城郊乡/王庄村"
ROUTER_SERIAL = "SFP-ROUTER-0001"
INTERNET_SERVER = Path(__file__).with_name("internet.py")
CONTROLLER_CLI = Path(sys.executable).with_name("station-controller")
NAT_RULES = f"""
table ip sfp_nat {{
  chain postrouting {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "{WAN_IF}" masquerade
  }}
}}
"""


def build_network(lab: NetnsLab, *, lan_bridge_on_router: bool = False) -> dict[str, str]:
    """Create the namespaces, links, addresses and routes; returns role → namespace name.

    The phones hang off a bridge: by default in an access-point namespace ("ap", one uplink to the
    router's plain ``lan0``); with ``lan_bridge_on_router`` the bridge is the router's own ``br-lan``.
    """
    roles = ["cli1", "cli2", "rtr", "ctl", "net"] + ([] if lan_bridge_on_router else ["ap"])
    ns = {role: lab.add(role) for role in roles}
    rtr, net, ctl = ns["rtr"], ns["net"], ns["ctl"]
    switch = rtr if lan_bridge_on_router else ns["ap"]
    lan = "br-lan" if lan_bridge_on_router else LAN_IF
    for index, (role, (v4, v6)) in enumerate(PHONES.items(), start=1):
        lab.veth(ns[role], "eth0", switch, f"port{index}")
        lab.address(ns[role], "eth0", f"{v4}/24")
        lab.address(ns[role], "eth0", f"{v6}/64")
        lab.route(ns[role], "default", ROUTER_LAN[0])
        lab.route(ns[role], "default", ROUTER_LAN[1])
    ports = [f"port{i}" for i in range(1, len(PHONES) + 1)]
    if not lan_bridge_on_router:
        lab.veth(switch, "uplink", rtr, LAN_IF)
        ports.append("uplink")
    lab.bridge(switch, "br-lan" if lan_bridge_on_router else "br0", ports)
    lab.address(rtr, lan, f"{ROUTER_LAN[0]}/24")
    lab.address(rtr, lan, f"{ROUTER_LAN[1]}/64")
    lab.veth(rtr, WAN_IF, net, "up0")
    lab.address(rtr, WAN_IF, f"{ROUTER_WAN[0]}/24")
    lab.address(rtr, WAN_IF, f"{ROUTER_WAN[1]}/64")
    lab.address(net, "up0", f"{NET_UPLINK[0]}/24")
    lab.address(net, "up0", f"{NET_UPLINK[1]}/64")
    lab.route(rtr, "default", NET_UPLINK[0])
    lab.route(rtr, "default", NET_UPLINK[1])
    lab.veth(net, "c0", ctl, "eth0")
    lab.address(net, "c0", f"{NET_CENTRE}/24")
    lab.address(ctl, "eth0", f"{CENTRE}/24")
    lab.route(ctl, "default", NET_CENTRE)
    for addr in (f"{INTERNET}/32", f"{RESOLVER}/32", f"{INTERNET_V6}/128"):
        lab.address(net, "lo", addr)
    lab.route(net, "fd77:1::/64", ROUTER_WAN[1])
    for router in (rtr, net):
        lab.sysctl(router, "net.ipv4.ip_forward", "1")
        lab.sysctl(router, "net.ipv6.conf.all.forwarding", "1")
    run_in(rtr, ["nft", "-f", "-"], input_text=NAT_RULES)
    return ns


def inside(ns: str, fn: Callable[[], T]) -> T:
    """Call ``fn`` with this thread inside ``ns``."""
    with entered(ns):
        return fn()


@dataclass
class PortalRig:
    """Handles on the running rig; ``close()`` stops every process and deletes every namespace."""

    lab: NetnsLab
    data_dir: Path
    lan_interface: str = LAN_IF
    ns: dict[str, str] = field(default_factory=dict)
    admin_password: str = ""
    router_id: str = ""
    router_token: str = ""
    broker: MosquittoService | None = None
    victoria: VictoriaService | None = None
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{CENTRE}:{HTTP_PORT}"

    @property
    def controller_data(self) -> Path:
        return self.data_dir / "ctl"

    @property
    def sms_outbox(self) -> Path:
        return self.controller_data / "sms-outbox.jsonl"

    @property
    def agent_state(self) -> Path:
        return self.data_dir / "agent" / "state"

    def controller_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STATION_")}
        env.update(
            {
                "STATION_DATA_DIR": str(self.controller_data),
                "STATION_SECRET_KEY": self._secret("secret-key"),
                "STATION_MQTT_PASSWORD": self._secret("mqtt-password"),
                "STATION_HTTP_HOST": CENTRE,
                "STATION_HTTP_PORT": str(HTTP_PORT),
                "STATION_MQTT_HOST": CENTRE,
                "STATION_MQTT_PORT": str(MQTT_PORT),
                "STATION_TSDB_URL": f"http://{CENTRE}:{TSDB_PORT}",
                "STATION_PORTAL_WALLED_GARDEN": f'["{CENTRE}/32"]',
                # Several logins from the same two phones in one run.
                "STATION_PORTAL_SMS_PER_MAC_PER_DAY": "50",
                "STATION_PORTAL_SMS_PER_IP_PER_DAY": "500",
            }
        )
        return env

    def _secret(self, name: str) -> str:
        path = self.data_dir / f"{name}.txt"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        return path.read_text(encoding="utf-8")

    # -- staff and phones ------------------------------------------------------------------------
    def api(self) -> httpx.Client:
        """The admin's API client (bearer token), talking from the centre namespace."""
        with ns_http_client(self.ns["ctl"], base_url=self.url, timeout=30) as anon:
            reply = anon.post(
                "/api/v1/auth/login", json={"username": "admin", "password": self.admin_password}
            )
            reply.raise_for_status()
            token = reply.json()["token"]
        return ns_http_client(
            self.ns["ctl"], base_url=self.url, timeout=30, headers={"authorization": f"Bearer {token}"}
        )

    def phone(self, role: str, **kwargs: Any) -> httpx.Client:
        """A phone's HTTP client in namespace ``role`` (cli1 / cli2); keeps cookies like a browser."""
        return ns_http_client(self.ns[role], timeout=kwargs.pop("timeout", 15), **kwargs)

    def mac(self, role: str) -> str:
        return self.lab.mac(self.ns[role], "eth0")

    # -- processes -------------------------------------------------------------------------------
    def start_centre(self) -> None:
        ctl = self.ns["ctl"]
        broker_dir = self.controller_data / "broker"
        self.broker = MosquittoService(data_dir=broker_dir, host=CENTRE, port=MQTT_PORT)
        self.broker.accounts.ensure_exist()
        self.broker.accounts.upsert(BrokerAccount("controller", hash_password(self._secret("mqtt-password"))))
        inside(ctl, self.broker.start)
        self.victoria = VictoriaService(data_dir=self.data_dir / "victoria", host=CENTRE, port=TSDB_PORT)
        inside(ctl, self.victoria.start)
        env = self.controller_env()
        run_tool([str(CONTROLLER_CLI), "migrate"], env=env, timeout_s=300)
        self.admin_password = secrets.token_urlsafe(18)
        run_tool(
            [str(CONTROLLER_CLI), "create-admin", "--username", "admin", "--password-stdin"],
            env=env,
            input_text=self.admin_password + "\n",
        )
        self._start(
            "controller",
            ns_argv(ctl, [str(CONTROLLER_CLI), "serve"]),
            ready=lambda: inside(ctl, lambda: http_ok(f"{self.url}/readyz")),
            env=env,
            timeout_s=90,
        )

    def start_internet(self) -> None:
        net = self.ns["net"]
        argv = [sys.executable, str(INTERNET_SERVER), "--dns-addr", RESOLVER, "--dns-answer", INTERNET]
        self._start("internet", ns_argv(net, argv), ready=lambda: _listening(net, INTERNET, 7000))

    def register_router(self) -> None:
        """Station + router through the API; keeps the one-time enrollment token."""
        with self.api() as api:
            reply = api.post(
                "/api/v1/stations", json={"code": STATION_CODE, "name": "门户测试站", "region_path": REGION}
            )
            reply.raise_for_status()
            reply = api.post(
                "/api/v1/devices",
                json={"station_code": STATION_CODE, "role": "router", "serial": ROUTER_SERIAL},
            )
            reply.raise_for_status()
            body = reply.json()
        self.router_id, self.router_token = body["device"]["id"], body["token"]

    def write_agent_config(self) -> Path:
        path = self.data_dir / "agent" / "agent.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "\n".join(
                [
                    f'state_dir = "{self.agent_state}"',
                    "[device]",
                    'role = "router"',
                    f'serial = "{ROUTER_SERIAL}"',
                    "[enrollment]",
                    f'controller_url = "{self.url}"',
                    f'token = "{self.router_token}"',
                    "[mqtt]",
                    f'host = "{CENTRE}"',
                    f"port = {MQTT_PORT}",
                    "reconnect_max_s = 5.0",
                    "[telemetry]",
                    "interval_s = 30.0",
                    "[gateway]",
                    # Expiry must cut within 5 s (issue 3): the local check runs every second here.
                    "check_interval_s = 1.0",
                    "accounting_interval_s = 5.0",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        return path

    def start_agent(self) -> None:
        config = self.data_dir / "agent" / "agent.toml"
        if not config.exists():
            config = self.write_agent_config()
        argv = ns_argv(self.ns["rtr"], [sys.executable, "-m", "station_agent", "--config", str(config)])
        self._start("agent", argv, ready=lambda: True)

    def stop_agent(self, *, kill: bool = False) -> None:
        import signal

        self.processes["agent"].stop(sig=signal.SIGKILL if kill else signal.SIGTERM, timeout_s=20)

    def device(self) -> dict[str, Any]:
        with self.api() as api:
            reply = api.get(f"/api/v1/devices/{self.router_id}")
            reply.raise_for_status()
            return dict(reply.json())

    def wait_router_online(self, timeout: float = 90) -> None:
        wait_until(
            lambda: (d := self.device())["status"] == "enrolled" and d["online"],
            timeout=timeout,
            interval=0.5,
            message=f"router enrolled and online\n{self.log_tail('agent')}",
        )

    def log_tail(self, name: str, lines: int = 40) -> str:
        proc = self.processes.get(name)
        return f"--- {name} log ---\n{proc.log_tail(lines)}" if proc else ""

    def _start(
        self,
        name: str,
        argv: list[str],
        *,
        ready: Callable[[], bool],
        env: dict[str, str] | None = None,
        timeout_s: float = 30,
    ) -> None:
        proc = self.processes.get(name) or ManagedProcess(
            name=name, argv=argv, log_file=self.data_dir / "logs" / f"{name}.log", env=env
        )
        self.processes[name] = proc
        proc.start(ready=ready, timeout_s=timeout_s)

    def close(self) -> None:
        for name in ("agent", "controller", "internet"):
            if name in self.processes:
                self.processes[name].stop(timeout_s=20)
        for service in (self.victoria, self.broker):
            if service is not None:
                service.stop()
        self.lab.close()


def _listening(ns: str, host: str, port: int) -> bool:
    from station_controller.devstack.ports import port_accepts

    return inside(ns, lambda: port_accepts(port, host))


def start_rig(data_dir: Path, *, lan_bridge_on_router: bool = False) -> PortalRig:
    """Network, internet server, centre, registered router and its running, enrolled agent."""
    lab = NetnsLab()
    rig = PortalRig(lab=lab, data_dir=data_dir, lan_interface="br-lan" if lan_bridge_on_router else LAN_IF)
    try:
        rig.ns = build_network(lab, lan_bridge_on_router=lan_bridge_on_router)
        rig.start_internet()
        rig.start_centre()
        rig.register_router()
        rig.start_agent()
        rig.wait_router_online()
    except BaseException:
        rig.close()
        raise
    return rig
