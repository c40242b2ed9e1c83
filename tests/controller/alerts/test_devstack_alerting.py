"""The dev stack's alerting pair: vmalert loads every rule group, Alertmanager runs the generated config."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from station_controller.devstack import free_port
from station_controller.devstack.vmalert import start_alerting
from tests.controller.api.core_fixtures import make_settings


@pytest.fixture
def clean_env() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_start_alerting_runs_the_rules_and_the_generated_routes(tmp_path: Path, clean_env: None) -> None:
    os.environ["STATION_ALERTS_ALERTMANAGER_URL"] = am = f"http://127.0.0.1:{free_port()}"
    os.environ["STATION_ALERTS_VMALERT_URL"] = vm = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(
        tmp_path,
        "sqlite://",
        alerts_alertmanager_url=am,
        alerts_vmalert_url=vm,
        alerts_webhook_token="t" * 24,
        alerts_wecom_url="http://127.0.0.1:9/wecom",
        alerts_sms_phones=["13800138000"],
        alerts_eval_interval_s=5,
    )
    stops = start_alerting(settings, tmp_path)
    try:
        groups = httpx.get(f"{vm}/api/v1/rules").json()["data"]["groups"]
        assert {g["name"] for g in groups} >= {"station-devices", "station-lessons", "station-controller"}
        assert {g["interval"] for g in groups} == {5.0}
        config = httpx.get(f"{am}/api/v2/status").json()["config"]["original"]
        assert "/api/v1/alerts/webhook" in config
        assert "/api/v1/alerts/relay/wecom" in config
        assert "/api/v1/alerts/relay/sms" in config
        assert "dingtalk" not in config  # not configured, no relay route
    finally:
        for _name, stop in reversed(stops):
            stop()


def test_a_taken_default_port_moves_to_a_free_one(tmp_path: Path, clean_env: None) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    taken = f"http://127.0.0.1:{busy.getsockname()[1]}"
    os.environ.pop("STATION_ALERTS_ALERTMANAGER_URL", None)
    os.environ["STATION_ALERTS_VMALERT_URL"] = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(
        tmp_path, "sqlite://", alerts_alertmanager_url=taken, alerts_webhook_token="t" * 24
    )
    try:
        stops = start_alerting(settings, tmp_path)
        for _name, stop in reversed(stops):
            stop()
    finally:
        busy.close()
    assert settings.alerts_alertmanager_url != taken
    assert os.environ["STATION_ALERTS_ALERTMANAGER_URL"] == settings.alerts_alertmanager_url
