"""The live stack for end-to-end tests: the same DevStack `make run` starts, on free ports in a temp dir."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from station_controller.devstack import MosquittoService, free_port
from station_controller.devstack.processes import ManagedProcess
from station_controller.devstack.run import ADMIN_USERNAME, DevStack
from tests.support import wait_until

DEMO_STATION_CODE = "demo-0001"


@dataclass
class LiveStack:
    """Handles on a running DevStack: URLs, the admin login, the demo device and its processes."""

    stack: DevStack
    url: str
    admin_username: str
    admin_password: str
    demo_device_id: str
    demo_station_id: int

    def api(self) -> httpx.Client:
        """An API client logged in as the admin (bearer token)."""
        reply = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"username": self.admin_username, "password": self.admin_password},
        )
        reply.raise_for_status()
        token = reply.json()["token"]
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {token}"}, timeout=30)

    @property
    def agent(self) -> ManagedProcess:
        assert self.stack.agent is not None, "the stack has not started its agent"
        return self.stack.agent

    @property
    def broker(self) -> MosquittoService:
        assert self.stack.broker is not None, "the stack has not started its broker"
        return self.stack.broker

    def stop_agent(self) -> None:
        """Graceful stop: the agent publishes its own retained death before it exits."""
        self.agent.stop()

    def kill_agent(self) -> None:
        """kill -9: no goodbye, no flush; only what the agent committed to disk survives."""
        self.agent.stop(sig=signal.SIGKILL, timeout_s=5)

    def start_agent(self) -> None:
        self.agent.start(ready=lambda: True, timeout_s=10)

    @property
    def agent_state_db(self) -> Path:
        return self.stack.data_dir / "demo" / "state" / "state.db"

    def device(self) -> dict[str, Any]:
        with self.api() as api:
            reply = api.get(f"/api/v1/devices/{self.demo_device_id}")
            reply.raise_for_status()
            return dict(reply.json())


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """Mosquitto + VictoriaMetrics + controller + one real demo agent, as `make run` starts them."""
    saved = dict(os.environ)
    os.environ.update(
        {
            "STATION_HTTP_PORT": str(free_port()),
            "STATION_MQTT_PORT": str(free_port()),
            "STATION_TSDB_URL": f"http://127.0.0.1:{free_port()}",
        }
    )
    os.environ.pop("STATION_PUBLIC_URL", None)
    stack = DevStack(data_dir=tmp_path_factory.mktemp("stack"))
    try:
        stack.start()
        url = stack.settings.public_url
        password = (stack.data_dir / "admin-password.txt").read_text(encoding="utf-8").strip()
        live = LiveStack(stack, url, ADMIN_USERNAME, password, "", 0)
        with live.api() as api:
            station = api.get(f"/api/v1/stations/{DEMO_STATION_CODE}").json()
            live.demo_station_id = int(station["id"])
            live.demo_device_id = wait_until(
                lambda: _enrolled_demo_device(api), timeout=60, message="demo agent enrolled"
            )
        yield live
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)


def _enrolled_demo_device(api: httpx.Client) -> str | None:
    page = api.get("/api/v1/devices", params={"station": DEMO_STATION_CODE, "status": "enrolled"}).json()
    items = page.get("items", [])
    return str(items[0]["id"]) if items else None
