"""`make run`'s demo lesson (devstack/demo_lesson.py) against the real lessons API, then the dispatcher.

The app, its registry and the API are real (the app's background parts are not started: the test runs
the dispatcher round itself); the HTTP client is FastAPI's TestClient, an httpx.Client.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from station_controller.commands.models import CommandRecord
from station_controller.devstack.demo_lesson import (
    DEMO_LESSON_TITLE,
    demo_lesson_body,
    ensure_demo_lesson,
    schedule_demo_lesson,
)
from station_controller.devstack.hls import origin_port
from station_controller.devstack.ports import free_port
from station_controller.lessons import service
from station_controller.settings import Settings
from tests.controller.console.conftest import PASSWORD
from tests.fakes.commands import FakePublisher

STATION = "TH-001"  # seeded, with one enrolled STB (stb-sn-a1)
URL = "http://127.0.0.1:41234/master.m3u8"


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    """The API as the operator; outside ``with`` so the app's own lesson dispatcher does not run."""
    client = TestClient(app)
    reply = client.post("/api/v1/auth/login", json={"username": "ops", "password": PASSWORD})
    reply.raise_for_status()
    client.headers["authorization"] = f"Bearer {reply.json()['token']}"
    yield client
    client.close()


def demo_lessons(api: TestClient) -> list[dict[str, Any]]:
    return [row for row in api.get("/api/v1/lessons").json() if row["title"] == DEMO_LESSON_TITLE]


def test_body_starts_now_station_local_for_twelve_hours() -> None:
    body = demo_lesson_body(url=URL, station=STATION, now=datetime(2026, 12, 3, 7, 30, 45, tzinfo=UTC))
    assert body == {
        "title": "演示党课 Demo lesson",
        "url": URL,
        "starts_local": "2026-12-03T15:30:00",  # 07:30 UTC is 15:30 in Shanghai; to the minute
        "ends_local": "2026-12-04T03:30:00",
        "timezone": "Asia/Shanghai",
        "stations": [STATION],
    }


def test_scheduled_once_then_the_dispatcher_has_the_stb_probe_it(
    api: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    lesson, created = ensure_demo_lesson(api, url=URL, station=STATION)
    again, created_again = ensure_demo_lesson(api, url=URL, station=STATION)  # `make run` restarted
    assert (created, created_again) == (True, False)
    assert again["id"] == lesson["id"]
    assert [row["id"] for row in demo_lessons(api)] == [lesson["id"]]
    with factory() as s:
        stored = service.get_lesson(s, lesson_id=lesson["id"])
        assert service.state_of(stored, datetime.now(UTC)) == "live"
        assert stored.ends_at - stored.starts_at == timedelta(hours=12)
        assert service.dispatch(s, settings=settings, publisher=FakePublisher()) == 1
        probe = s.scalars(select(CommandRecord).where(CommandRecord.name == "stream.probe")).one()
    assert probe.device_id == "stb-sn-a1"
    assert probe.args["url"] == URL
    assert probe.args["lesson"] == f"lesson-{lesson['id']}"


def test_a_new_one_when_the_url_changed_or_the_old_one_nearly_ended(api: TestClient) -> None:
    now = datetime.now(UTC)
    first, _ = ensure_demo_lesson(api, url=URL, station=STATION, now=now)
    other_port, moved = ensure_demo_lesson(api, url=URL.replace("41234", "41235"), station=STATION, now=now)
    late = now + timedelta(hours=11, minutes=30)  # the first has 30 minutes left
    later, renewed = ensure_demo_lesson(api, url=URL, station=STATION, now=late)
    assert (moved, renewed) == (True, True)
    assert len({first["id"], other_port["id"], later["id"]}) == 3
    kept, created = ensure_demo_lesson(api, url=URL, station=STATION, now=late)
    assert (kept["id"], created) == (later["id"], False)


def test_a_refusal_is_logged_and_the_stack_goes_on(
    tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "admin-password.txt").write_text("not-used\n", encoding="utf-8")
    nothing_there = settings.model_copy(update={"http_host": "127.0.0.1", "http_port": free_port()})
    with caplog.at_level(logging.WARNING):
        assert schedule_demo_lesson(nothing_there, tmp_path, url=URL, station=STATION) is None
    assert "demo lesson not scheduled" in caplog.text


def test_the_origin_keeps_its_port_across_restarts(tmp_path: Path) -> None:
    url_file = tmp_path / "url.txt"
    assert origin_port(url_file) > 0  # first run: any free port
    port = free_port()
    url_file.write_text(f"http://127.0.0.1:{port}/master.m3u8\n", encoding="utf-8")
    assert origin_port(url_file) == port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        assert origin_port(url_file) != port  # taken by something else: a new port (and a new lesson)
