"""Controller killed between committing a command and publishing it: after a restart the outbox sweep
publishes it once, the real agent answers once, and the result is recorded once.

Real Mosquitto, VictoriaMetrics, PostgreSQL, controller process (`station-controller serve`) and demo
agent, as `make run` starts them (DevStack), with the database in a private PostgreSQL cluster. The
fault hook ``STATION_FAULT_AFTER_COMMAND_COMMIT=kill`` makes the controller SIGKILL itself right after
the command's commit (commands/outbox.py). An observer on an extra controller account counts every
delivery on the device's ``cmd`` topic and every answer on its ``result`` topic.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from station_controller.broker.service_accounts import derive_password, worker_username
from station_controller.commands.models import CommandRecord
from station_controller.db import make_engine, make_session_factory
from station_controller.devstack import PostgresService, free_port
from station_controller.devstack.processes import http_ok
from station_controller.devstack.run import DevStack
from station_protocol import Channel, Command, Result, decode, new_id, topic
from tests.e2e.conftest import DEMO_STATION_CODE, LiveStack, _enrolled_demo_device
from tests.support import MqttTestClient, wait_until

pytestmark = pytest.mark.e2e

OBSERVER_WORKER = "outbox-observer"  # an extra controller account (reads all of st/v1); no process uses it
FAULT_ENV = "STATION_FAULT_AFTER_COMMAND_COMMIT"


@dataclass
class OutboxRig:
    live: LiveStack
    database_url: str
    observer: MqttTestClient

    def restart_controller(self, *, fault: bool) -> None:
        """Stop the controller process and start it again, with or without the fault hook."""
        controller = self.live.stack.controller
        assert controller is not None
        controller.stop()
        controller.env = {**os.environ, FAULT_ENV: "kill"} if fault else None
        readyz = f"{self.live.url}/readyz"
        controller.start(ready=lambda: http_ok(readyz), timeout_s=60)

    def command_row(self, command_id: str) -> CommandRecord | None:
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine)() as session:
                return session.scalar(select(CommandRecord).where(CommandRecord.id == command_id))
        finally:
            engine.dispose()

    def deliveries(self, command_id: str) -> list[Command]:
        """Every ``cmd`` message the broker delivered for this command (same envelope id = same command)."""
        cmd_topic = topic(self.live.demo_device_id, Channel.CMD)
        envelopes = [decode(m.payload) for m in self.observer.received(cmd_topic)]
        return [e.body for e in envelopes if e.id == command_id and isinstance(e.body, Command)]

    def answers(self, command_id: str) -> list[Result]:
        result_topic = topic(self.live.demo_device_id, Channel.RESULT)
        bodies = [decode(m.payload).body for m in self.observer.received(result_topic)]
        return [b for b in bodies if isinstance(b, Result) and b.command_id == command_id]

    def barrier(self) -> None:
        """A round trip through the broker: what reached it before this call has been delivered."""
        mark = f"st/v1/outbox-barrier/cmd/{new_id()}"
        self.observer.subscribe(mark)
        self.observer.publish(mark, b"barrier")
        wait_until(lambda: self.observer.received(mark), timeout=30, message="barrier round trip")


@pytest.fixture(scope="module")
def outbox_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutboxRig]:
    postgres = PostgresService()
    postgres.start()
    saved = dict(os.environ)
    os.environ.update(
        {
            "STATION_HTTP_PORT": str(free_port()),
            "STATION_MQTT_PORT": str(free_port()),
            "STATION_TSDB_URL": f"http://127.0.0.1:{free_port()}",
            "STATION_DATABASE_URL": postgres.url,
            "STATION_MQTT_INGEST_WORKERS": f'["{OBSERVER_WORKER}"]',
        }
    )
    for name in ("STATION_PUBLIC_URL", FAULT_ENV):
        os.environ.pop(name, None)
    stack = DevStack(data_dir=tmp_path_factory.mktemp("outbox-stack"))
    observer: MqttTestClient | None = None
    try:
        stack.start()
        password = (stack.data_dir / "admin-password.txt").read_text(encoding="utf-8").strip()
        live = LiveStack(stack, stack.settings.public_url, "admin", password, "", 0)
        with live.api() as api:
            live.demo_station_id = int(api.get(f"/api/v1/stations/{DEMO_STATION_CODE}").json()["id"])
            live.demo_device_id = wait_until(
                lambda: _enrolled_demo_device(api), timeout=60, message="demo agent enrolled"
            )
        wait_until(lambda: live.device()["online"], timeout=60, interval=0.5, message="demo agent online")
        # The dev stack's demo lesson has the dispatcher send the STB a stream.probe: sent before the
        # fault hook is on, or the hook would kill the controller on that commit instead of the test's.
        wait_until(lambda: _demo_probe_sent(live), timeout=90, message="the demo lesson's stream.probe sent")
        s = stack.settings
        username = worker_username(s.mqtt_username, OBSERVER_WORKER)
        observer = MqttTestClient(
            host=s.mqtt_host,
            port=s.mqtt_port,
            username=username,
            password=derive_password(s.mqtt_password.get_secret_value(), username),
            client_id=username,
        )
        assert observer.connect().is_failure is False, "observer account refused"
        for channel in (Channel.CMD, Channel.RESULT):
            assert not observer.subscribe(topic(live.demo_device_id, channel))[0].is_failure
        yield OutboxRig(live, postgres.url, observer)
    finally:
        if observer is not None:
            observer.close()
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        postgres.destroy()


def test_a_command_committed_but_not_published_is_published_once_after_a_restart(
    outbox_rig: OutboxRig,
) -> None:
    rig, live = outbox_rig, outbox_rig.live
    controller = live.stack.controller
    assert controller is not None
    rig.restart_controller(fault=True)
    # The process dies inside this request, after the commit and before the publish.
    with live.api() as api, pytest.raises(httpx.TransportError):
        api.post(f"/api/v1/devices/{live.demo_device_id}/commands", json={"name": "ping", "timeout_s": 300})
    wait_until(lambda: not controller.running, timeout=30, message="controller killed by the fault hook")

    rows = _device_commands(rig)
    assert len(rows) == 1, "the killed request committed exactly one command row"
    command_id = rows[0].id
    assert rows[0].status == "queued", "committed, not published"
    assert rows[0].published_at is None
    rig.barrier()
    assert rig.deliveries(command_id) == [], "nothing reached the device's cmd topic before the restart"

    rig.restart_controller(fault=False)
    with live.api() as api:
        answered = wait_until(
            lambda: (
                (c := api.get(f"/api/v1/commands/{command_id}").json())["status"] not in ("queued", "sent")
                and c
            ),
            timeout=120,
            interval=0.5,
            message="the outbox sweep resends the command and the agent's result is recorded",
        )
        assert answered["status"] == "ok", answered
        assert answered["name"] == "ping"
        history = api.get(f"/api/v1/devices/{live.demo_device_id}/commands").json()

    rig.barrier()
    delivered = rig.deliveries(command_id)
    assert len(delivered) == 1, "published exactly once (the killed process sent nothing, the sweep once)"
    assert delivered[0].name == "ping"
    assert len(rig.answers(command_id)) == 1, "the agent answered once"
    pings = [item["id"] for item in history["items"] if item["name"] != "stream.probe"]
    assert pings == [command_id], "one row, no duplicate command"
    row = rig.command_row(command_id)
    assert row is not None
    assert row.status == "ok"
    assert row.published_at is not None, "the sweep marked it sent"
    assert row.finished_at is not None


def _device_commands(rig: OutboxRig) -> list[CommandRecord]:
    """The device's commands but the demo lesson's stream.probe (the dev stack's, sent before the test)."""
    engine = make_engine(rig.database_url)
    try:
        with make_session_factory(engine)() as session:
            stmt = select(CommandRecord).where(
                CommandRecord.device_id == rig.live.demo_device_id, CommandRecord.name != "stream.probe"
            )
            return list(session.scalars(stmt))
    finally:
        engine.dispose()


def _demo_probe_sent(live: LiveStack) -> bool:
    with live.api() as api:
        history = api.get(f"/api/v1/devices/{live.demo_device_id}/commands").json()
    return any(item["name"] == "stream.probe" and item["status"] != "queued" for item in history["items"])
