"""Lessons: schedule in station-local time, target STBs, the probe commands, live page, report and CSV.

The TSDB is a fake behind the PromQuery Protocol here (the real path is tests/e2e/stream/); the
registry, the app and the console are real.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from station_controller.commands.models import CommandRecord
from station_controller.lessons import service
from station_controller.lessons.models import Lesson
from station_controller.settings import Settings
from station_controller.tsdb.query import Series
from station_controller.tsdb.routes import get_tsdb_query
from station_protocol import Command, contract, decode
from station_protocol.stream import ProbeArgs
from tests.fakes.commands import FakePublisher

SHANGHAI_NOW = datetime.utcnow() + timedelta(hours=8)  # noqa: DTZ003 - naive station-local time


class FakeTsdb:
    """Answers the lesson queries: stb-sn-a1 watched with 5 % rebuffering; stalls at one minute."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def query(self, promql: str, *, at: float | None = None) -> list[Series]:
        self.queries.append(promql)
        values = {
            "startup_s": 1.25,
            "rebuffer_ratio": 0.05,
            "bitrate_bps": 440000.0,
            "avg_bitrate_bps": 500000.0,
            "latency_s": 7.5,
            "stall_count": 3.0,
            "stalled": 0.0,
        }
        for name, value in values.items():
            if f"stream_{name}{{" in promql:
                return [Series({"device": "stb-sn-a1"}, [(1.0, value)])]
        return []

    def query_range(self, promql: str, *, start: float, end: float, step_s: float) -> list[Series]:
        self.queries.append(promql)
        minute = float(int(start) + 60)
        if "stream_stall_s" in promql:
            return [Series({"device": "stb-sn-a1"}, [(minute, 4.0)])]
        if "iface_rx_bps" in promql:
            return [Series({"device": "router-sn-a2"}, [(minute, 0.97)])]
        return []


def schedule(client: TestClient, csrf_from: Callable[[str], str], **fields: str) -> Any:
    page = client.get("/console/lessons/")
    start = SHANGHAI_NOW - timedelta(minutes=10)
    data = {
        "csrf": csrf_from(page.text),
        "title": "党课直播",
        "url": "http://10.8.0.1:8090/live/master.m3u8",
        "starts_local": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_local": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "timezone": "Asia/Shanghai",
        "regions": "河南省/南阳市/唐河县",
    }
    data.update(fields)
    return client.post("/console/lessons/", data=data)


def test_schedule_targets_and_dispatch(
    client: TestClient,
    login: Any,
    csrf_from: Callable[[str], str],
    factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    login(client, "ops")
    reply = schedule(client, csrf_from)
    assert reply.status_code == 303
    lesson_id = int(reply.headers["location"].rsplit("/", 1)[-1])
    publisher = FakePublisher()
    with factory() as s:
        lesson = s.get(Lesson, lesson_id)
        assert lesson is not None
        assert lesson.ends_at - lesson.starts_at == timedelta(hours=1)
        assert [d.id for d in service.target_devices(s, lesson)] == ["stb-sn-a1"]  # routers are not targets
        # The dispatcher round (the background thread's body) tells each target once.
        first = service.dispatch(s, settings=settings, publisher=publisher)
        second = service.dispatch(s, settings=settings, publisher=publisher)
        assert (first, second) == (1, 0)
        command = s.scalars(select(CommandRecord).where(CommandRecord.name == "stream.probe")).one()
        assert command.device_id == "stb-sn-a1"
        assert command.args["lesson"] == f"lesson-{lesson_id}"
        assert command.args["until_ms"] == service.until_ms(lesson)
        assert command.args["play"] is True  # the box's player app is asked to play the lesson too
    [sent] = [m for m in publisher.sent if b'"stream.probe"' in m["payload"]]  # type: ignore[operator]
    envelope = decode(sent["payload"])  # type: ignore[arg-type]
    assert isinstance(envelope.body, Command)
    args = contract.decode_args("stream.probe", envelope.body.args)
    assert isinstance(args, ProbeArgs)
    assert (args.play, args.lesson) == (True, f"lesson-{lesson_id}")


def test_targets_by_tag_and_station(factory: sessionmaker[Session], seeded: dict[str, Any]) -> None:
    start = datetime(2026, 12, 3, 9, 0)
    with factory() as s:
        by_tag = service.create_lesson(
            s,
            data=service.LessonInput(
                "t", "http://o/m.m3u8", start, start + timedelta(hours=1), tags=("试点",)
            ),
            by=None,
        )
        pending = service.create_lesson(
            s,
            data=service.LessonInput(
                "s", "http://o/m.m3u8", start, start + timedelta(hours=1), stations=("XY-001",)
            ),
            by=None,
        )
        assert [d.id for d in service.target_devices(s, by_tag)] == ["stb-sn-a1"]
        assert service.target_devices(s, pending) == []  # XY-001's STB never enrolled
        assert service.utc(by_tag.starts_at).hour == 1  # 09:00 in Shanghai is 01:00 UTC


def test_bad_schedule_is_shown_on_the_form(
    client: TestClient, login: Any, csrf_from: Callable[[str], str]
) -> None:
    login(client, "ops")
    start = SHANGHAI_NOW.strftime("%Y-%m-%dT%H:%M")
    reply = schedule(client, csrf_from, starts_local=start, ends_local=start)
    assert reply.status_code == 422  # InvalidInput, shown on the form's own page
    assert "end must be after the start" in reply.text
    assert 'data-testid="lesson-form"' in reply.text
    assert schedule(client, csrf_from, regions="").status_code == 422


def test_viewer_cannot_schedule(client: TestClient, login: Any, csrf_from: Callable[[str], str]) -> None:
    login(client, "watcher")
    page = client.get("/console/lessons/")
    assert page.status_code == 200
    assert 'data-testid="lesson-form"' not in page.text
    reply = schedule(client, csrf_from)
    assert reply.status_code == 403


def test_live_page_report_and_csv(
    app: FastAPI, client: TestClient, login: Any, csrf_from: Callable[[str], str]
) -> None:
    tsdb = FakeTsdb()
    app.dependency_overrides[get_tsdb_query] = lambda: tsdb
    login(client, "ops")
    lesson_id = int(schedule(client, csrf_from).headers["location"].rsplit("/", 1)[-1])

    page = client.get(f"/console/lessons/{lesson_id}")
    assert page.status_code == 200
    assert 'data-testid="lesson-station-TH-001"' in page.text
    live = client.get(f"/console/lessons/{lesson_id}/live.json").json()
    assert live["watching"] == 1
    assert live["stations"][0]["rebuffer_ratio"] == 0.05
    assert live["regions"][0]["region"] == "河南省/南阳市/唐河县"
    assert any(f'lesson="lesson-{lesson_id}"' in q for q in tsdb.queries)

    report = client.get(f"/console/lessons/{lesson_id}/report")
    assert report.status_code == 200
    assert 'data-testid="poor-TH-001"' in report.text
    assert "wan_saturated" in report.text  # the router's WAN at ≥ 90 % of its peak in the stall minute
    csv = client.get(f"/console/lessons/{lesson_id}/report.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("station,station_name,region,device,watching")
    assert lines[1].startswith("TH-001,王庄村服务站,河南省/南阳市/唐河县/王庄村,stb-sn-a1,true,1.25,0.05")
    assert lines[1].endswith(",true,wan_saturated")

    overview = client.get("/console/overview/data.json").json()
    mine = [row for row in overview["lessons"] or [] if row["id"] == lesson_id]
    assert [(row["title"], row["state"], row["stations"]) for row in mine] == [("党课直播", "live", 1)]


def test_dispatcher_round_and_restart(
    factory: sessionmaker[Session], settings: Settings, seeded: dict[str, Any]
) -> None:
    from station_controller.lessons.background import LessonDispatcher

    start = SHANGHAI_NOW - timedelta(minutes=5)
    with factory() as s:
        service.create_lesson(
            s,
            data=service.LessonInput(
                "t", "http://o/m.m3u8", start, start + timedelta(hours=1), tags=("试点",)
            ),
            by="ops",
        )
    dispatcher = LessonDispatcher(factory, settings, FakePublisher(), interval_s=3600)
    dispatcher.start()  # its first round runs at once, then it waits
    dispatcher.stop()
    dispatcher.start()  # an app's lifespan may start it again
    dispatcher.stop()
    assert dispatcher.run_once() == 0  # the first round told the one target already
    with factory() as s:
        commands = s.scalars(select(CommandRecord).where(CommandRecord.name == "stream.probe")).all()
        assert commands
        assert all(c.args["play"] is True for c in commands)
