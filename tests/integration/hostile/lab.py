"""The real stack for the hostile suite: DevStack (Mosquitto, VictoriaMetrics, `station-controller serve`,
the demo agent), staff API access, and devices enrolled through the real enrollment exchange."""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from station_controller.broker import generate_password, hash_password
from station_controller.cli import agent_toml
from station_controller.devstack import free_port
from station_controller.devstack.processes import ManagedProcess
from station_controller.devstack.run import ADMIN_USERNAME, DevStack
from tests.support import MqttTestClient, wait_until

STATION_CODE = "hostile-lab"
OBSERVER = "hostile-suite-observer"
# The controller under test runs with these (everything else at its defaults, as in production).
CONTROLLER_ENV = {
    "STATION_INGEST_FLUSH_INTERVAL_S": "0.2",
    "STATION_TSDB_RETRY_MAX_DELAY_S": "1",
    # Per-device budgets below the flood the suite sends (the defaults hold a whole agent outbox of
    # 50,000 messages / 64 MiB), so the flood test sees the throttle act; honest devices stay far below.
    "STATION_INGEST_DEVICE_MESSAGES_PER_S": "20",
    "STATION_INGEST_DEVICE_MESSAGE_BURST": "5000",
    "STATION_INGEST_DEVICE_BYTE_BURST": str(4 * 1024 * 1024),
    "AGENT_TELEMETRY_INTERVAL_S": "1",  # real agents sample every second (the minimum)
    "AGENT_MQTT_RECONNECT_MAX_S": "2",  # a kicked agent is back quickly (the suite waits for its data)
}
_CONNECTED = re.compile(r"New client connected from \S+ as (\S+) \(.*u'([^']*)'\)")


@dataclass(frozen=True)
class Enrolled:
    """Credentials a device got from POST /api/v1/enroll."""

    device_id: str
    username: str
    password: str
    serial: str


class Lab:
    """Handles on the running stack; every device here enrolled itself with a one-time token."""

    def __init__(self, stack: DevStack) -> None:
        self.stack = stack
        self.url = stack.settings.public_url
        password = (stack.data_dir / "admin-password.txt").read_text(encoding="utf-8").strip()
        reply = httpx.post(
            f"{self.url}/api/v1/auth/login", json={"username": ADMIN_USERNAME, "password": password}
        )
        reply.raise_for_status()
        token = reply.json()["token"]
        self.api = httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {token}"}, timeout=30)
        self.agents: list[ManagedProcess] = []
        self._observer_password = generate_password()

    @property
    def mqtt_host(self) -> str:
        return self.stack.settings.mqtt_host

    @property
    def mqtt_port(self) -> int:
        return self.stack.settings.mqtt_port

    @property
    def tsdb_url(self) -> str:
        return self.stack.settings.tsdb_url

    @property
    def broker_log(self) -> Path:
        assert self.stack.broker is not None
        return self.stack.broker.log_file

    def close(self) -> None:
        for agent in self.agents:
            agent.stop()
        self.api.close()

    # -- enrollment through the real API ----------------------------------------------------------
    def ensure_station(self) -> None:
        body = {"code": STATION_CODE, "name": "攻击测试站", "region_path": "河南省/南阳市/测试乡"}
        reply = self.api.post("/api/v1/stations", json=body)
        assert reply.status_code in (201, 409), reply.text

    def register(self, role: str = "stb") -> tuple[str, str, str]:
        """Pre-register a device; returns (device id, serial, one-time token)."""
        serial = f"SN-HOSTILE-{uuid.uuid4().hex[:10]}"
        reply = self.api.post(
            "/api/v1/devices", json={"station_code": STATION_CODE, "role": role, "serial": serial}
        )
        assert reply.status_code == 201, reply.text
        created = reply.json()
        return str(created["device"]["id"]), serial, str(created["token"])

    def enroll(self, role: str = "stb") -> Enrolled:
        """Register and enroll one device the way an agent does; waits until the broker accepts it."""
        device_id, serial, token = self.register(role)
        reply = httpx.post(f"{self.url}/api/v1/enroll", json={"serial": serial, "token": token})
        assert reply.status_code == 200, reply.text
        creds = reply.json()
        enrolled = Enrolled(device_id, creds["mqtt_username"], creds["mqtt_password"], serial)
        assert enrolled.device_id == creds["device_id"]
        wait_until(lambda: self._broker_accepts(enrolled), timeout=30, interval=0.2, message="broker account")
        return enrolled

    def _broker_accepts(self, who: Enrolled) -> bool:
        probe = self.mqtt_client(who, client_id=who.device_id)
        try:
            return not probe.connect().is_failure
        finally:
            probe.close()

    def mqtt_client(self, who: Enrolled, *, client_id: str | None = None) -> MqttTestClient:
        return MqttTestClient(
            host=self.mqtt_host,
            port=self.mqtt_port,
            username=who.username,
            password=who.password,
            client_id=client_id,
        )

    def start_agent(self, name: str) -> tuple[str, Path]:
        """A real ``station_agent`` (role stb) that enrolls itself; returns (device id, its state.db)."""
        device_id, serial, token = self.register("stb")
        home = self.stack.data_dir / "agents" / name
        home.mkdir(parents=True, exist_ok=True)
        config = home / "agent.toml"
        text = agent_toml(self.stack.settings, serial=serial, token=token, state_dir=home / "state")
        config.write_text(text, encoding="utf-8")
        agent = ManagedProcess(
            name=f"agent {name}",
            argv=[sys.executable, "-m", "station_agent", "--config", str(config)],
            log_file=self.stack.logs / f"agent-{name}.log",
        )
        agent.start(ready=lambda: True, timeout_s=10)
        self.agents.append(agent)
        return device_id, home / "state" / "state.db"

    # -- what the API says --------------------------------------------------------------------------
    def device(self, device_id: str) -> dict[str, Any]:
        reply = self.api.get(f"/api/v1/devices/{device_id}")
        assert reply.status_code == 200, (
            f"GET /api/v1/devices/{device_id}: {reply.status_code} {reply.text[:300]}"
        )
        return dict(reply.json())

    def all_devices(self, *, limit: int = 2) -> tuple[list[str], list[int]]:
        """Every page of GET /api/v1/devices (small pages, so the hostile device shares a page with
        honest ones); returns (ids, status code of each page)."""
        ids: list[str] = []
        codes: list[int] = []
        after: str | None = None
        for _ in range(1000):
            params: dict[str, Any] = {"limit": limit}
            if after is not None:
                params["after"] = after
            reply = self.api.get("/api/v1/devices", params=params)
            codes.append(reply.status_code)
            if reply.status_code != 200:
                # Skip past the failing page by offset so later pages are still checked.
                return ids + self._rest_by_offset(len(ids) + limit, limit, codes), codes
            page = reply.json()
            ids += [item["id"] for item in page["items"]]
            after = page.get("next_after")
            if not after:
                break
        return ids, codes

    def _rest_by_offset(self, offset: int, limit: int, codes: list[int]) -> list[str]:
        ids: list[str] = []
        for _ in range(1000):
            reply = self.api.get("/api/v1/devices", params={"limit": limit, "offset": offset})
            codes.append(reply.status_code)
            if reply.status_code == 200:
                items = reply.json()["items"]
                if not items:
                    break
                ids += [item["id"] for item in items]
            offset += limit
            if reply.status_code == 200 and len(reply.json()["items"]) < limit:
                break
        return ids

    def observer(self) -> MqttTestClient:
        """A read-only broker account for looking at what the broker retains (not connected yet).

        Appended to the broker's files and applied by SIGHUP; the controller rewrites those files only
        when an enrollment changes, and the suite enrolls nobody after its fixture.
        """
        s = self.stack.settings
        assert s.broker_password_file is not None
        assert s.broker_acl_file is not None
        acl = s.broker_acl_file.read_text(encoding="utf-8")
        if f"user {OBSERVER}\n" not in acl:
            s.broker_acl_file.write_text(acl + f"\nuser {OBSERVER}\ntopic read st/v1/#\n", encoding="utf-8")
            with s.broker_password_file.open("a", encoding="utf-8") as passwd:
                passwd.write(f"{OBSERVER}:{hash_password(self._observer_password)}\n")
            assert self.stack.broker is not None
            assert self.stack.broker.accounts.reload(), "broker not reloaded"
        return MqttTestClient(
            host=self.mqtt_host, port=self.mqtt_port, username=OBSERVER, password=self._observer_password
        )

    def broker_log_size(self) -> int:
        return self.broker_log.stat().st_size

    def broker_log_since(self, offset: int) -> list[str]:
        with self.broker_log.open("rb") as log:
            log.seek(offset)
            return log.read().decode("utf-8", errors="replace").splitlines()

    def controller_client_ids(self) -> set[str]:
        """Client ids the broker log shows for accounts that are not devices (the controller's)."""
        text = self.broker_log.read_text(encoding="utf-8", errors="replace")
        found = set()
        for client_id, username in _CONNECTED.findall(text):
            if username.startswith("controller") or username == self.stack.settings.mqtt_username:
                found.add(client_id)
        return found


def parse_time(value: str | None) -> datetime | None:
    """An API timestamp as an aware datetime (naive ones are the controller's UTC)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


@contextmanager
def running_stack(data_dir: Path) -> Iterator[Lab]:
    """DevStack on free ports with CONTROLLER_ENV; the process environment is restored afterwards."""
    saved = dict(os.environ)
    os.environ.update(CONTROLLER_ENV)
    os.environ.update(
        {
            "STATION_HTTP_PORT": str(free_port()),
            "STATION_MQTT_PORT": str(free_port()),
            "STATION_TSDB_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    os.environ.pop("STATION_PUBLIC_URL", None)
    stack = DevStack(data_dir=data_dir)
    lab: Lab | None = None
    try:
        stack.start()
        lab = Lab(stack)
        yield lab
    finally:
        if lab is not None:
            lab.close()
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
