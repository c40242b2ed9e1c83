"""The live stack with short alert tolerances: vmalert every 2 s, offline after 15 s of silence, and the
DingTalk / WeCom robots and a generic webhook pointing at a recording test receiver."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from station_controller.devstack import free_port
from station_controller.devstack.run import ADMIN_USERNAME, DevStack
from tests.support import wait_until
from tests.support.alerting import RecordingReceiver, recording_receiver

DEMO_STATION_CODE = "demo-0001"
OFFLINE_AFTER_S = 15


@dataclass
class AlertStack:
    stack: DevStack
    url: str
    admin_password: str
    receiver: RecordingReceiver
    demo_device_id: str
    demo_region: str

    def api(self) -> httpx.Client:
        reply = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"username": ADMIN_USERNAME, "password": self.admin_password},
        )
        reply.raise_for_status()
        token = reply.json()["token"]
        return httpx.Client(base_url=self.url, headers={"authorization": f"Bearer {token}"}, timeout=30)

    @property
    def alertmanager_url(self) -> str:
        return self.stack.settings.alerts_alertmanager_url

    def stop_agent(self) -> None:
        assert self.stack.agent is not None
        self.stack.agent.stop()

    def start_agent(self) -> None:
        assert self.stack.agent is not None
        self.stack.agent.start(ready=lambda: True, timeout_s=10)


def alert_env(receiver: RecordingReceiver) -> dict[str, str]:
    return {
        "STATION_HTTP_PORT": str(free_port()),
        "STATION_MQTT_PORT": str(free_port()),
        "STATION_TSDB_URL": f"http://127.0.0.1:{free_port()}",
        "STATION_ALERTS_ALERTMANAGER_URL": f"http://127.0.0.1:{free_port()}",
        "STATION_ALERTS_VMALERT_URL": f"http://127.0.0.1:{free_port()}",
        "STATION_ALERTS_EVAL_INTERVAL_S": "2",
        "STATION_ALERTS_OFFLINE_AFTER_S": str(OFFLINE_AFTER_S),
        "STATION_ALERTS_OFFLINE_FOR_S": "0",
        "STATION_ALERTS_GROUP_WAIT_S": "1",
        "STATION_ALERTS_GROUP_INTERVAL_S": "2",
        "STATION_ALERTS_REPEAT_INTERVAL_S": "3600",
        "STATION_ALERTS_DINGTALK_URL": f"{receiver.url}/dingtalk?access_token=test",
        "STATION_ALERTS_WECOM_URL": f"{receiver.url}/wecom?key=test",
        "STATION_ALERTS_GENERIC_WEBHOOK_URLS": json.dumps([f"{receiver.url}/generic"]),
    }


@pytest.fixture(scope="module")
def alert_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertStack]:
    saved = dict(os.environ)
    with recording_receiver() as receiver:
        os.environ.update(alert_env(receiver))
        os.environ.pop("STATION_PUBLIC_URL", None)
        stack = DevStack(data_dir=tmp_path_factory.mktemp("alert-stack"))
        try:
            stack.start()
            password = (stack.data_dir / "admin-password.txt").read_text(encoding="utf-8").strip()
            live = AlertStack(stack, stack.settings.public_url, password, receiver, "", "")
            with live.api() as api:
                station = api.get(f"/api/v1/stations/{DEMO_STATION_CODE}").json()
                live.demo_region = str(station["region_path"])
                live.demo_device_id = wait_until(
                    lambda: _enrolled(api), timeout=60, message="demo agent enrolled"
                )
            yield live
        finally:
            stack.stop()
            os.environ.clear()
            os.environ.update(saved)


def _enrolled(api: httpx.Client) -> str | None:
    page = api.get("/api/v1/devices", params={"station": DEMO_STATION_CODE, "status": "enrolled"}).json()
    items = page.get("items", [])
    return str(items[0]["id"]) if items else None
