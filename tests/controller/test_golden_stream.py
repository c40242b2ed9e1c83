"""The controller builds the golden stream.probe args and accepts the golden stream.* outputs and events.

Builder: the lesson dispatcher (lessons.service.dispatch) on a real registry; consumers: command results
(record_results, then the API's view) and the ingest hub's stream.qoe handler (lessons.qoe_points).
Goldens: tests/fixtures/messages/commands|events/.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fixtures.golden import command_golden, event_golden
from station_controller.commands.models import CommandRecord
from station_controller.commands.service import record_results
from station_controller.ingest.events import DeviceEvent
from station_controller.lessons import service
from station_controller.lessons.qoe_points import QoePoints
from station_controller.settings import Settings
from station_protocol import Command, Result, contract, decode
from station_protocol import stream as wire
from tests.controller.api.core_fixtures import Api
from tests.controller.commands.test_command_routes import _enrolled
from tests.controller.console.conftest import app, factory, password, seeded, settings  # noqa: F401
from tests.fakes.commands import FakePublisher

NOW = datetime(2026, 12, 3, 1, 0)  # UTC; 09:00 in Asia/Shanghai


def api_round_trip(api: Api, name: str) -> None:
    """The API sends the golden args unchanged and stores the golden ``ok`` output as it came."""
    device_id = _enrolled(api, f"G{abs(hash(name)) % 10_000}")
    operator = api.user("operator")
    golden = command_golden(name)
    body = {"name": name, "args": golden["args"]}
    reply = api.client.post(f"/api/v1/devices/{device_id}/commands", json=body, headers=operator)
    assert reply.status_code == 202, reply.text
    envelope = decode(api.ingest.publisher.sent[-1]["payload"])  # type: ignore[arg-type]
    assert isinstance(envelope.body, Command)
    assert (envelope.body.name, envelope.body.args) == (name, golden["args"])
    with api.sessions() as session:
        result = Result(command_id=envelope.id, status="ok", output=golden["output"])
        assert record_results(session, [(device_id, result)]) == [envelope.id]
    stored = api.client.get(f"/api/v1/commands/{envelope.id}", headers=operator).json()
    assert (stored["status"], stored["output"]) == ("ok", golden["output"])


def test_the_lesson_dispatcher_sends_the_golden_probe_args(
    factory: sessionmaker[Session],  # noqa: F811
    settings: Settings,  # noqa: F811
    seeded: dict[str, Any],  # noqa: F811
) -> None:
    golden = command_golden(wire.PROBE)["args"]
    data = service.LessonInput(title="直播课", url=golden["url"], starts_local=datetime(2026, 12, 3, 9, 0),
                               ends_local=datetime(2026, 12, 3, 10, 0),
                               regions=("河南省/南阳市/唐河县",))  # fmt: skip
    with factory() as s:
        lesson = service.create_lesson(s, data=data, by=None)
        assert (
            service.dispatch(s, settings=settings, publisher=FakePublisher(), now=NOW + timedelta(minutes=1))
            == 1
        )
        command = s.scalars(select(CommandRecord).where(CommandRecord.name == wire.PROBE)).one()
        expected = {**golden, "until_ms": service.until_ms(lesson), "lesson": service.lesson_label(lesson.id)}
        # the dispatcher sends play=true (lessons ask the player app to play): the typed args are the same
        assert contract.decode_args(wire.PROBE, command.args) == contract.decode_args(wire.PROBE, expected)
        assert set(command.args) <= set(golden)


@pytest.mark.parametrize("name", [wire.PROBE, wire.STOP])
def test_stream_commands_store_the_golden_output(api: Api, name: str) -> None:
    api_round_trip(api, name)


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_lines(self, lines: Sequence[str]) -> None:
        self.lines.extend(lines)


def test_the_qoe_handler_writes_points_of_the_golden_event() -> None:
    sink = Lines()
    detail = event_golden(wire.QOE)
    QoePoints(lambda: sink, clock=lambda: 1_795_703_600.0).record([DeviceEvent("stb-0001", wire.QOE, detail)])
    [stream, *errors] = sink.lines
    assert stream.startswith("stream,device=stb-0001,source=probe")
    assert f"lesson={detail['lesson']}" in stream
    assert f"rebuffer_ratio={detail['rebuffer_ratio']}" in stream
    assert sorted(line.split(",kind=")[1].split(" ")[0] for line in errors) == sorted(detail["errors"])
