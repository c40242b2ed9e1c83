"""An app with alerts settings (webhook token, robot URLs at a recording receiver) and a real Alertmanager."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from station_controller.devstack import free_port
from station_controller.devstack.alertmanager import AlertmanagerService
from station_controller.main import create_app
from station_controller.migrations import upgrade_head
from station_controller.registry.service import create_device, create_station
from tests.controller.api.core_fixtures import Api, make_settings
from tests.fakes.ingest import FakeIngest
from tests.support.alerting import RecordingReceiver, recording_receiver, running_alertmanager

TOKEN = secrets.token_urlsafe(24)
REGION = "河南省/南阳市/唐河县"


@pytest.fixture
def receiver() -> Iterator[RecordingReceiver]:
    with recording_receiver() as found:
        yield found


@pytest.fixture
def alertmanager(tmp_path: Path, receiver: RecordingReceiver) -> Iterator[AlertmanagerService]:
    """A real Alertmanager (config from settings; its controller hooks point nowhere useful here)."""
    settings = make_settings(tmp_path, "sqlite://", alerts_webhook_token=TOKEN, public_url=receiver.url)
    with running_alertmanager(tmp_path / "am", settings) as service:
        yield service


@pytest.fixture
def alerts_api(
    tmp_path: Path, sqlite_url: str, receiver: RecordingReceiver, alertmanager: AlertmanagerService
) -> Iterator[Api]:
    """The app on SQLite with one station (two devices) in REGION; robots post to ``receiver``."""
    upgrade_head(sqlite_url)
    settings = make_settings(
        tmp_path,
        sqlite_url,
        alerts_webhook_token=TOKEN,
        alerts_alertmanager_url=alertmanager.url,
        alerts_dingtalk_url=f"{receiver.url}/dingtalk?access_token=t",
        alerts_dingtalk_secret="SEC" + "0" * 20,
        alerts_wecom_url=f"{receiver.url}/wecom?key=k",
        alerts_sms_phones=["13800138000"],
        http_port=free_port(),
    )
    app = create_app(settings, ingest=FakeIngest())
    with TestClient(app) as client:
        api = Api(client=client, settings=settings, sessions=app.state.session_factory, ingest=FakeIngest())
        with api.sessions() as session:
            create_station(session, code="s-001", name="王庄村", region_path=REGION + "/城郊乡/王庄村")
            create_station(session, code="s-002", name="李庄村", region_path="河南省/郑州市")
            for station, serial in (("s-001", "A1"), ("s-001", "A2"), ("s-002", "B1")):
                create_device(session, settings=settings, station_code=station, role="stb", serial=serial)
        yield api


def auth() -> dict[str, str]:
    return {"authorization": f"Bearer {TOKEN}"}
